"""Runtime policy inputs at push: the control plane evaluates with the values the job gave
(``policyInputs`` in the signed predicate), scoped as the CLI scopes them."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.test_enforcement import _contract, _setup, _statement, _upload
from tests.integration.server.test_push import _sign

ALLOWED_AGPL = "{ref: sbom-banned-licenses, with: {licenses: AGPL-3.0-only}, gate: true}"


def _push(env: Env, init: dict[str, Any], inputs: list[dict[str, str]] | None) -> Any:
    run_id = init["run"]["id"]
    _upload(env, run_id)
    statement = _statement(env, init)
    if inputs is not None:
        statement["predicate"]["policyInputs"] = inputs
    return env.post(f"/runs/{run_id}/attestation", {"bundle": _sign(env, init, statement)})


def test_an_unscoped_input_replaces_the_contract_value(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=ALLOWED_AGPL))
    reply = _push(app_client, init, [{"name": "licenses", "value": "MIT"}])
    assert reply.status_code == 422, reply.text
    (violation,) = reply.json()["details"]["violations"]
    assert violation["source"] == "server" and violation["with"] == {"licenses": "MIT"}
    assert "urllib3" in violation["violations"][0]["message"]


def test_scoped_inputs_apply_to_their_policy_and_material_only(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=ALLOWED_AGPL))
    inputs = [
        {"name": "licenses", "value": "MIT", "policy": "another-policy"},
        {"name": "licenses", "value": "MIT", "material": "another-material"},
        {"name": "licenses", "value": "SSPL-1.0", "policy": "sbom-banned-licenses"},
    ]
    reply = _push(app_client, init, inputs)
    assert reply.status_code == 200, reply.text
    (evaluation,) = reply.json()["policy_evaluations"]
    assert evaluation["with"] == {"licenses": "SSPL-1.0"} and evaluation["violations"] == []
    # The inputs stay in the stored statement: a later evaluation can use the same values.
    stored = app_client.get(f"/runs/{init['run']['id']}/statement")
    assert stored.status_code == 200, stored.text
    assert stored.json()["predicate"]["policyInputs"] == inputs


def test_material_scoped_input_for_the_pushed_material(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=ALLOWED_AGPL))
    reply = _push(app_client, init, [{"name": "licenses", "value": "MIT", "material": "sbom"}])
    assert reply.status_code == 422, reply.text


def test_without_inputs_the_contract_value_holds(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=ALLOWED_AGPL))
    reply = _push(app_client, init, None)
    assert reply.status_code == 200, reply.text
    (evaluation,) = reply.json()["policy_evaluations"]
    assert evaluation["with"] == {"licenses": "AGPL-3.0-only"}


def test_malformed_policy_inputs_are_refused(app_client: Env) -> None:
    init = _setup(app_client, _contract(materials=ALLOWED_AGPL))
    reply = _push(app_client, init, [{"name": "licenses"}])  # type: ignore[list-item]
    assert reply.status_code == 400, reply.text
    assert "policy input" in reply.json()["detail"]
