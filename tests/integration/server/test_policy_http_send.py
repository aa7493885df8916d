"""``http.send`` in policies, towards a real receiver on loopback: off by default, allowed to
the organisation's hosts at push (SQLite, PostgreSQL) and to the engine's allow-list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.conftest import Env
from tests.integration.server.test_enforcement import _contract, _push, _setup
from tests.receivers import Receiver, free_port

from chainproof.errors import PolicyError, PolicyEvaluationError
from chainproof.policy import PolicyScript, RegoEngine, prepare

# POSTs to the receiver's Slack endpoint (which records it and answers 200, or the status
# the receiver is told to fail with); a violation when the answer is not 200.
REGO = """package http_check
import rego.v1
response := http.send({"method": "POST", "url": input.args.url,
  "headers": {"Content-Type": "application/json"}, "body": {"text": input.args.text}})
violations contains concat("", ["the receiver answered ", status]) if {
  response.status_code != 200
  status := format_int(response.status_code, 10)
}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    with RegoEngine() as engine:
        yield engine


def _script() -> Any:
    return prepare(PolicyScript(None, REGO, "http-check.rego", None), "http-check")


def test_an_allowed_host_is_reached_and_its_answer_used(
    engine: RegoEngine, receiver: Receiver
) -> None:
    args = {"url": f"{receiver.url}/slack", "text": "from a policy"}
    result = engine.evaluate(_script(), {}, args, allowed_hosts=["127.0.0.1"])
    assert result.violations == ()
    assert receiver.chats == [("/slack", {"text": "from a policy"})]
    receiver.status = 503
    failed = engine.evaluate(_script(), {}, {**args, "text": "again"}, allowed_hosts=["127.0.0.1"])
    assert [v.message for v in failed.violations] == ["the receiver answered 503"]


def test_another_host_is_refused_before_any_request(engine: RegoEngine, receiver: Receiver) -> None:
    args = {"url": f"http://localhost:{receiver.port}/slack", "text": "x"}
    with pytest.raises(PolicyEvaluationError, match=r"http\.send to localhost is not allowed") as e:
        engine.evaluate(_script(), {}, args, allowed_hosts=["127.0.0.1"])
    assert e.value.details["reason"] == "network"
    with pytest.raises(PolicyError, match=r"http\.send\(\) is off: no host is allow-listed"):
        engine.evaluate(_script(), {}, {**args, "url": f"{receiver.url}/slack"})
    assert receiver.served == 0


def _contract_with(url: str) -> str:
    policy = (
        "{embedded: {apiVersion: chainloop.dev/v1, kind: Policy, metadata: {name: http-check}, "
        "spec: {inputs: [{name: url}, {name: text}], policies: [{kind: SBOM_CYCLONEDX_JSON, "
        f"embedded: {json.dumps(REGO)}}}]}}}}, with: {{url: '{url}', text: pushed}}, gate: true}}"
    )
    return _contract(materials=policy)


def test_push_reaches_the_organisations_hosts_only(app_client: Env, receiver: Receiver) -> None:
    init = _setup(app_client, _contract_with(f"{receiver.url}/slack"))
    # Off by default: the policy cannot be evaluated, which blocks as a violation would.
    refused = _push(app_client, init)
    assert refused.status_code == 422, refused.text
    (violation,) = refused.json()["details"]["violations"]
    assert "http.send() is off" in violation["violations"][0]["message"]
    assert receiver.served == 0

    reply = app_client.patch("/org", {"policy_allowed_hostnames": ["Example.COM", "127.0.0.1"]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["policy_allowed_hostnames"] == ["127.0.0.1", "example.com"]
    init = _setup_again(app_client)
    assert init["policies_allowed_hostnames"] == ["127.0.0.1", "example.com"]
    pushed = _push(app_client, init)
    assert pushed.status_code == 200, pushed.text
    assert receiver.chats == [("/slack", {"text": "pushed"})]

    receiver.status = 500
    blocked = _push(app_client, _setup_again(app_client))
    assert blocked.status_code == 422, blocked.text
    (violation,) = blocked.json()["details"]["violations"]
    assert violation["violations"][0]["message"] == "the receiver answered 500"

    assert app_client.patch("/org", {"policy_allowed_hostnames": ["example.com"]}).is_success
    other = _push(app_client, _setup_again(app_client))
    assert other.status_code == 422
    (violation,) = other.json()["details"]["violations"]
    assert "http.send to 127.0.0.1 is not allowed" in violation["violations"][0]["message"]


def test_host_names_are_checked(app_client: Env) -> None:
    for bad in (["https://example.com"], ["example.com:443"], ["a b"]):
        reply = app_client.patch("/org", {"policy_allowed_hostnames": bad})
        assert reply.status_code == 400, reply.text
        assert "is not a host name" in reply.json()["detail"]
    assert app_client.patch("/org", {"policy_allowed_hostnames": ["::1"]}).is_success
    cleared = app_client.patch("/org", {"policy_allowed_hostnames": []})
    assert cleared.json()["policy_allowed_hostnames"] == []


def _setup_again(env: Env) -> dict[str, Any]:
    from tests.integration.server.test_enforcement import _init

    return _init(env)


def test_a_failed_request_fails_the_evaluation_unless_the_policy_asks_for_the_error(
    engine: RegoEngine,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/slack"  # nothing listens there
    with pytest.raises(PolicyEvaluationError, match=r"http\.send POST .*/slack: ") as caught:
        engine.evaluate(_script(), {}, {"url": closed, "text": "x"}, allowed_hosts=["127.0.0.1"])
    assert "raise_error: false" in str(caught.value.hint)
    tolerant = prepare(
        PolicyScript(
            None,
            REGO.replace('"body": {"text"', '"raise_error": false, "body": {"text"'),
            "tolerant.rego",
            None,
        ),
        "tolerant",
    )
    result = engine.evaluate(
        tolerant, {}, {"url": closed, "text": "x"}, allowed_hosts=["127.0.0.1"]
    )
    assert [v.message for v in result.violations] == ["the receiver answered 0"]
