"""The bounds of the control plane's own policy evaluations: a policy stuck for its whole
time limit in one organisation delays nobody else's push, and material content above the
policy input limit is not evaluated (its gated policies fail closed, naming the limit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.integration.conftest import Env
from tests.integration.server.test_enforcement import (
    _contract,
    _init,
    _push,
    _setup,
    _statement,
    _upload,
)
from tests.integration.server.test_push import _sign

from chainproof.policy import PolicyVerifier
from chainproof.policy.pool import default_workers
from chainproof.server.app import create_app
from chainproof.server.services.policy_input import Limits
from chainproof.server.settings import Settings

SLOW = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: stuck}
spec:
  policies:
    - kind: SBOM_CYCLONEDX_JSON
      embedded: |
        package stuck

        import rego.v1

        violations contains "never" if {
          some i in numbers.range(1, 1000)
          count(numbers.range(i, i + 100000)) < 0
        }
"""
TRIVIAL = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: quick}
spec:
  policies:
    - kind: SBOM_CYCLONEDX_JSON
      embedded: |
        package quick

        import rego.v1

        violations contains "no components" if count(input.components) == 0
"""


@pytest.fixture
def limits(app_and_client: tuple[Any, TestClient]) -> Iterator[dict[str, Any]]:
    """Replace the app's policy limits for one test (``limits.update(...)``)."""
    state = app_and_client[0].state
    kept = getattr(state, "policy_limits", None)
    chosen: dict[str, Any] = {}
    made: list[Limits] = []

    def apply(**kw: Any) -> None:
        made.append(Limits(**kw))
        state.policy_limits = made[-1]

    chosen["apply"] = apply
    yield chosen
    for m in made:
        m.close()
    state.policy_limits = kept


def _store(env: Env, document: str) -> None:
    reply = env.post("/policies", {"document": document})
    assert reply.status_code == 201, reply.text


def _ready(env: Env, name: str) -> dict[str, Any]:
    """A workflow gated by stored policy ``name`` (a trivial one for now), pushed once: the
    organisation's first push makes its signing keys, which on SQLite holds the database's
    write lock for the whole push. Returns the next run."""
    _store(env, TRIVIAL.replace("{name: quick}", f"{{name: {name}}}"))
    assert (
        _push(env, _setup(env, _contract(materials=f"{{ref: {name}, gate: true}}"))).status_code
        == 200
    )
    return _init(env)


def _signed(env: Env, init: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The run's SBOM uploaded and its bundle signed: what is left is the push itself."""
    _upload(env, init["run"]["id"])
    return init["run"]["id"], {"bundle": _sign(env, init, _statement(env, init))}


def test_a_stuck_policy_in_one_org_delays_nobody_elses_push(
    app_client: Env, limits: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    limits["apply"](workers=2, timeout=8.0)
    slow_org, quick_org = app_client, app_client.new_org()
    slow_init, quick_init = _ready(slow_org, "stuck"), _ready(quick_org, "quick")
    assert slow_org.put("/policies/stuck", {"document": SLOW}).status_code == 200
    slow_run, slow_body = _signed(slow_org, slow_init)
    quick_run, quick_body = _signed(quick_org, quick_init)
    # Observe (not change) the server: the quick push starts once the stuck policy runs.
    running = threading.Event()
    evaluate_bound = PolicyVerifier.evaluate_bound

    def observed(self: PolicyVerifier, bound: Any, *args: Any, **kw: Any) -> Any:
        if bound.policy.name == "stuck":
            running.set()
        return evaluate_bound(self, bound, *args, **kw)

    monkeypatch.setattr(PolicyVerifier, "evaluate_bound", observed)
    finished: dict[str, float] = {}
    replies: dict[str, Any] = {}

    def push_slow() -> None:
        replies["slow"] = slow_org.post(f"/runs/{slow_run}/attestation", slow_body)
        finished["slow"] = time.monotonic()

    thread = threading.Thread(target=push_slow)
    thread.start()
    assert running.wait(30)
    started = time.monotonic()
    replies["quick"] = quick_org.post(f"/runs/{quick_run}/attestation", quick_body)
    finished["quick"] = time.monotonic()
    thread.join()
    assert replies["quick"].status_code == 200, replies["quick"].text
    assert replies["slow"].status_code == 422, replies["slow"].text
    (stuck,) = replies["slow"].json()["details"]["violations"]
    assert "did not finish within 8 s and was stopped" in stuck["violations"][0]["message"]
    # The quick push was answered while the stuck policy still ran, not after it was stopped.
    assert finished["quick"] < finished["slow"]
    assert finished["quick"] - started < (finished["slow"] - started) / 2


def test_material_above_the_input_limit_is_not_evaluated(
    app_client: Env, limits: dict[str, Any]
) -> None:
    limits["apply"](max_input_bytes=100)
    init = _setup(
        app_client,
        _contract(materials="{ref: sbom-banned-licenses, with: {licenses: GPL-3.0}, gate: true}"),
    )
    reply = _push(app_client, init)
    assert reply.status_code == 422, reply.text
    (failed,) = reply.json()["details"]["violations"]
    message = failed["violations"][0]["message"]
    assert "its content is larger than 100 bytes" in message, message
    assert "policy input limit" in message


def test_the_limits_come_from_the_settings(settings: Settings, tmp_path: Path) -> None:
    env = {
        "CHAINPROOF_POLICY_WORKERS": "3",
        "CHAINPROOF_POLICY_TIMEOUT_SECONDS": "2.5",
        "CHAINPROOF_POLICY_MEMORY_MB": "256",
        "CHAINPROOF_POLICY_MAX_INPUT_BYTES": "1048576",
    }
    parsed = Settings.embedded(tmp_path, environ=env)
    chosen = settings.model_copy(
        update={name: getattr(parsed, name) for name in Settings.model_fields if "policy_" in name}
    )
    app = create_app(chosen, start_worker=False)
    try:
        made = app.state.policy_limits
        assert (made.workers, made.timeout, made.memory_mb, made.max_input_bytes) == (
            3,
            2.5,
            256,
            1048576,
        )
        assert made.engine.workers == 3 and made.engine.memory_mb == 256
        assert Limits().workers == default_workers() >= 2
    finally:
        app.state.engine.dispose()


HIDDEN = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: hidden}
spec:
  policies:
    - kind: SBOM_CYCLONEDX_JSON
      embedded: |
        package hidden

        import rego.v1

        s := `a
        b` ; t := opa.runtime() ; u := `c
        `

        violations contains k if some k in object.keys(t.env)
"""


def test_storing_a_policy_compiles_it_and_refuses_forbidden_calls(app_client: Env) -> None:
    # The call sits between two raw strings on one line: refused, with its line, when stored.
    reply = app_client.post("/policies", {"document": HIDDEN})
    assert reply.status_code == 422, reply.text
    assert "document:13:" in reply.json()["detail"] and "opa.runtime()" in reply.json()["detail"]
    # A Rego syntax error is refused when stored too, not at every evaluation.
    broken = TRIVIAL.replace("count(input.components) == 0", "count(input.components) ==")
    reply = app_client.post("/policies", {"document": broken})
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"].startswith("document:12:"), reply.text
    # A group embedding a policy is checked the same way; a stored policy's update too.
    _store(app_client, TRIVIAL)
    reply = app_client.put("/policies/quick", {"document": HIDDEN.replace("hidden}", "quick}")})
    assert reply.status_code == 422, reply.text
    assert app_client.get("/policies/quick").json()["revision"] == 1
