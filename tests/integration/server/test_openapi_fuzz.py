"""Schemathesis over the control plane's OpenAPI document (issue 15).

Every operation, with an owner token, gets a bounded number of generated requests (valid and
invalid); none may answer 5xx, and every response must conform to the document (status code
documented, content type, body schema). In-process ASGI app on SQLite only (the
``sqlite_env`` fixture); the examples are derandomised so a failure repeats.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.integration.conftest import Env, new_env

from chainproof.server.app import create_app
from chainproof.server.db.migrate import migrate
from chainproof.server.settings import Settings

#: Generated requests per operation and generation mode: bounded, so that the run stays well
#: under two minutes per database on our 2-core machines.
EXAMPLES = 2


@dataclass
class Tally:
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _title(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0][:200]}"


def _fuzz(
    client: Any, operation: Any, mode: GenerationMode, headers: dict[str, str], tally: Tally
) -> None:
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def run(case: Any) -> None:
        tally.cases += 1
        # The test's own client: schemathesis' ASGI transport would run the app's lifespan
        # around every request.
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        kwargs.pop("follow_redirects", None)
        kwargs.pop("allow_redirects", None)
        if not kwargs.get("cookies"):
            kwargs.pop("cookies", None)
        if isinstance(kwargs.get("data"), (bytes, str)):
            kwargs["content"] = kwargs.pop("data")
        response = client.request(**kwargs)
        label = f"{operation.label} [{mode.value}] -> {response.status_code}"
        if response.status_code >= 500:
            tally.server_errors.append(f"{label}: {response.text[:300]}")
            return
        try:
            # Schema-valid data may still break a rule the document cannot state (a name's
            # characters, a digest's form): rejecting it is correct, so that check is off.
            case.validate_response(
                response, headers=headers, excluded_checks=[positive_data_acceptance]
            )
        except FailureGroup as group:
            tally.failures.extend(f"{label}: {_title(err)}" for err in group.exceptions)
        except AssertionError as err:
            tally.failures.append(f"{label}: {_title(err)}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # An operation without parameters or body has no invalid request to make.
        assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[Env]:
    """An app of its own over SQLite only: the run is bounded to about two minutes (the
    integration tests cover PostgreSQL; this one looks for server errors and schema drift)."""
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    migrate(url)
    settings = Settings.embedded(
        tmp_path / "data", environ={}, database_url=url, secret_key=secrets.token_urlsafe(32)
    )
    app = create_app(settings, start_worker=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield new_env(client, settings, app.state.sessions)
    app.state.engine.dispose()


def test_every_operation_conforms_and_never_fails(sqlite_env: Env) -> None:
    app_client = sqlite_env
    app = app_client.client.app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    tally = Tally()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50  # the whole API, not an empty document
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(app_client.client, operation, mode, app_client.headers(), tally)
    print(
        f"schemathesis: {len(operations)} operations, {tally.cases} cases, "
        f"{len(tally.server_errors)} server errors"
    )
    assert tally.server_errors == []
    assert tally.failures == []
