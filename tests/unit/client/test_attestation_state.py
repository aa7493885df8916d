"""State-file location and the guards that run before any domain module is needed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from chainproof.client import attestation
from chainproof.client.http import ApiClient
from chainproof.client.verify_run import _check_materials
from chainproof.core.statement import PREDICATE_TYPE, STATEMENT_TYPE, Statement
from chainproof.errors import Conflict, InvalidInput, NotFound


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request {request.method} {request.url}")


@pytest.fixture
def api() -> ApiClient:
    return ApiClient("http://cp.test", "cp_x", transport=httpx.MockTransport(no_network))


def test_state_path_prefers_flag_then_env_then_runner_temp(tmp_path: Path) -> None:
    env = {"CHAINPROOF_STATE_DIR": "/from/env", "RUNNER_TEMP": "/runner/tmp"}
    name = attestation.STATE_FILE
    assert attestation.state_path(tmp_path, env) == tmp_path / name
    assert attestation.state_path(None, env) == Path("/from/env") / name
    assert (
        attestation.state_path(None, {"RUNNER_TEMP": "/runner/tmp"}) == Path("/runner/tmp") / name
    )
    assert attestation.state_path(None, {}).name == name


def test_state_path_without_a_directory_is_keyed_by_the_ci_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gitlab = {"GITLAB_CI": "true", "CI_JOB_ID": "4711"}
    assert attestation.state_path(None, gitlab) == (
        tmp_path / "chainproof-attestation-gitlab-pipeline-4711.json"
    )
    other = attestation.state_path(None, {**gitlab, "CI_JOB_ID": "4712"})
    assert other != attestation.state_path(None, gitlab)
    # A directory chosen by the user, or the runner's own, holds the plain name.
    assert attestation.state_path(None, {**gitlab, "RUNNER_TEMP": "/rt"}) == Path("/rt") / (
        attestation.STATE_FILE
    )
    assert attestation.state_path(tmp_path / "s", gitlab) == tmp_path / "s" / attestation.STATE_FILE
    assert attestation.state_path(None, {}) == tmp_path / attestation.STATE_FILE


def test_state_path_in_a_ci_job_without_id_is_refused() -> None:
    with pytest.raises(InvalidInput, match="CI_JOB_ID") as info:
        attestation.state_path(None, {"GITLAB_CI": "true"})
    assert "--state-dir" in (info.value.hint or "")


def test_init_refuses_existing_state(api: ApiClient, tmp_path: Path) -> None:
    state = tmp_path / attestation.STATE_FILE
    state.write_text("{}")
    with pytest.raises(Conflict, match="already in progress") as info:
        attestation.init(
            api, state_file=state, workflow="build", project="shop", environ={}, cwd=tmp_path
        )
    assert "--replace" in (info.value.hint or "")


@pytest.mark.parametrize("call", ["add", "push", "reset"])
def test_commands_need_a_state_file(api: ApiClient, tmp_path: Path, call: str) -> None:
    state = tmp_path / attestation.STATE_FILE
    with pytest.raises(NotFound, match="no attestation in progress"):
        if call == "add":
            attestation.add(api, state, name="x", value="y")
        elif call == "push":
            attestation.push(api, state)
        else:
            attestation.reset(api, state)


def test_reset_rejects_unknown_trigger(api: ApiClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        attestation.reset(api, tmp_path / "s.json", trigger="explode")


def _signed(*materials: dict[str, Any]) -> Statement:
    return Statement.from_json(
        {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": "a", "digest": {"sha256": "c" * 64}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {"materials": list(materials)},
        }
    )


def test_material_check_compares_signed_and_recorded_digests() -> None:
    hex_a, hex_b = "a" * 64, "b" * 64
    statement = _signed(
        {"name": "sbom", "digest": {"sha256": hex_a}},
        {"name": "image", "digest": {"sha256": hex_b}},
    )
    recorded = [
        {"name": "sbom", "digest": f"sha256:{hex_a}"},
        {"name": "image", "digest": f"sha256:{hex_b}"},
    ]
    assert _check_materials(statement, recorded)["ok"] is True
    recorded[1]["digest"] = f"sha256:{hex_a}"
    check = _check_materials(statement, recorded)
    assert check["ok"] is False and "image" in check["detail"]


def test_material_check_fails_on_a_malformed_signed_material() -> None:
    statement = _signed({"name": "sbom", "digest": {"sha256": "not hex"}})
    check = _check_materials(statement, [{"name": "sbom", "digest": "sha256:" + "a" * 64}])
    assert check["ok"] is False
    assert "materials cannot be read: material 'sbom': not a valid sha256" in check["detail"]
