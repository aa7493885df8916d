"""Stored policies over SQLite and PostgreSQL: the API, its rules, and the policy loader's
hooks evaluating a contract that names a stored policy."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.conftest import Env

from chainproof.core.contract import Contract
from chainproof.core.materials import craft
from chainproof.errors import PolicyError
from chainproof.policy import PolicyLoader, PolicyVerifier, RegoEngine
from chainproof.policy import builtin as builtin_policies
from chainproof.server.db import AuditEvent, PolicyRevision, PolicyRow
from chainproof.server.services import orgs, policies, tokens

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "policies"
STORED = ASSETS / "stored"
SBOM = ASSETS / "inputs" / "cyclonedx-ntia-complete.json"  # components: requests, urllib3


def doc(name: str) -> str:
    return (STORED / f"{name}.yaml").read_text()


POLICY_V1 = doc("banned-components")
POLICY_V2 = POLICY_V1.replace("No component the security team banned.", "Banned components.")
GROUP = doc("team-sbom")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create(env: Env, text: str, token: str | None = None) -> Any:
    return env.post("/policies", {"document": text}, token=token)


def user_token(env: Env, role: str) -> str:
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        user = orgs.add_member(session, org, f"{role}-{secrets.token_hex(3)}", role)
        _, secret = tokens.create_user_token(session, org, user, role, f"{role}-token")
    return secret


@pytest.fixture(scope="module")
def engine() -> Iterator[RegoEngine]:
    with RegoEngine() as engine:
        yield engine


def test_create_describe_and_list(app_client: Env) -> None:
    reply = create(app_client, POLICY_V1)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    org = app_client.org["name"]
    assert created["name"] == "banned-components" and created["kind"] == "Policy"
    assert created["source"] == "org" and created["revision"] == 1
    assert created["digest"] == f"sha256:{sha(POLICY_V1)}"
    assert created["uri"] == f"chainproof://{org}/policies/banned-components/revisions/1"
    assert created["document"] == POLICY_V1
    assert created["description"] == "No component the security team banned."
    assert created["created_at"].endswith("Z") and created["created_by"]

    described = app_client.get("/policies/banned-components").json()
    assert described == created
    group = create(app_client, GROUP)
    assert group.status_code == 201, group.text
    assert group.json()["kind"] == "PolicyGroup"

    listed = app_client.get("/policies").json()
    assert [i["name"] for i in listed["items"]] == ["banned-components", "team-sbom"]
    assert listed["next_cursor"] is None
    assert "document" not in listed["items"][0] and listed["items"][0]["source"] == "org"


def test_list_with_builtins_merges_by_name_and_pages(app_client: Env) -> None:
    assert create(app_client, POLICY_V1).status_code == 201
    assert create(app_client, GROUP).status_code == 201
    everything = app_client.get("/policies", params={"builtin": "true"}).json()["items"]
    names = [i["name"] for i in everything]
    assert names == sorted([*builtin_policies.names(), "banned-components", "team-sbom"])
    sources = {i["name"]: i["source"] for i in everything}
    assert sources["team-sbom"] == "org" and sources["sbom-ntia"] == "builtin"
    assert {i["kind"] for i in everything if i["name"] == "sbom-quality"} == {"PolicyGroup"}
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"builtin": "true", "limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = app_client.get("/policies", params=params).json()
        assert len(page["items"]) <= 5
        paged += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert paged == names
    # Stored only, one by one.
    first = app_client.get("/policies", params={"limit": 1}).json()
    second = app_client.get("/policies", params={"limit": 1, "cursor": first["next_cursor"]})
    assert [first["items"][0]["name"], second.json()["items"][0]["name"]] == names_org(names)
    assert second.json()["next_cursor"] is None
    assert app_client.get("/policies", params={"cursor": "nonsense!"}).status_code == 400


def names_org(names: list[str]) -> list[str]:
    return [n for n in names if n not in builtin_policies.names()]


def test_builtins_are_describable(app_client: Env) -> None:
    reply = app_client.get("/policies/sbom-ntia")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["source"] == "builtin" and body["revision"] is None
    assert body["uri"] == "chainproof://builtin/sbom-ntia"
    assert body["digest"] == f"sha256:{builtin_policies.load('sbom-ntia').digest}"
    assert "package" in body["document"]
    assert app_client.get("/policies/sbom-ntia", params={"revision": 1}).status_code == 404


def test_update_adds_a_revision_only_when_the_digest_changes(app_client: Env) -> None:
    assert create(app_client, POLICY_V1).status_code == 201
    same = app_client.put("/policies/banned-components", {"document": POLICY_V1})
    assert same.status_code == 200 and same.json()["revision"] == 1
    changed = app_client.put("/policies/banned-components", {"document": POLICY_V2})
    assert changed.status_code == 200, changed.text
    assert changed.json()["revision"] == 2 and changed.json()["description"] == "Banned components."
    assert changed.json()["digest"] == f"sha256:{sha(POLICY_V2)}"
    assert app_client.get("/policies/banned-components").json()["revision"] == 2
    old = app_client.get("/policies/banned-components", params={"revision": 1}).json()
    assert old["document"] == POLICY_V1 and old["latest_revision"] == 2
    by_digest = app_client.get(
        "/policies/banned-components", params={"digest": f"sha256:{sha(POLICY_V1)}"}
    )
    assert by_digest.json()["revision"] == 1
    missing = app_client.get("/policies/banned-components", params={"digest": "sha256:" + "0" * 64})
    assert missing.status_code == 404
    bad = app_client.get("/policies/banned-components", params={"digest": "md5:abc"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    assert app_client.get("/policies/banned-components", params={"revision": 3}).status_code == 404
    # Back to the first text: a new revision (3) whose digest is revision 1's.
    back = app_client.put("/policies/banned-components", {"document": POLICY_V1}).json()
    assert back["revision"] == 3 and back["digest"] == f"sha256:{sha(POLICY_V1)}"
    with app_client.sessions() as session:
        row = session.scalar(
            select(PolicyRow).where(
                PolicyRow.org_id == app_client.org["id"], PolicyRow.name == "banned-components"
            )
        )
        assert row is not None and row.description == "No component the security team banned."
        revisions = session.scalars(
            select(PolicyRevision.revision).where(PolicyRevision.policy_id == row.id)
        ).all()
        assert sorted(revisions) == [1, 2, 3]
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.org_id == app_client.org["id"], AuditEvent.target == row.id
            )
        ).all()
        assert sorted(actions) == ["policy.create", "policy.update", "policy.update"]


def test_update_cannot_change_the_name_or_the_kind(app_client: Env) -> None:
    assert create(app_client, POLICY_V1).status_code == 201
    renamed = POLICY_V1.replace("name: banned-components", "name: other-name")
    reply = app_client.put("/policies/banned-components", {"document": renamed})
    assert reply.status_code == 400 and "named 'other-name'" in reply.json()["detail"]
    group = GROUP.replace("name: team-sbom", "name: banned-components")
    reply = app_client.put("/policies/banned-components", {"document": group})
    assert reply.status_code == 400
    assert "is a Policy; the document is a PolicyGroup" in reply.json()["detail"]
    assert app_client.get("/policies/banned-components").json()["revision"] == 1


def test_bad_documents_are_refused_with_line_and_field(app_client: Env) -> None:
    reply = create(app_client, doc("bad-syntax"))
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["code"] == "invalid_policy"
    assert problem["detail"].startswith("document:6: not valid YAML or JSON")
    assert problem["details"]["line"] == 6
    reply = create(app_client, doc("with-path"))
    assert reply.status_code == 422
    assert reply.json()["detail"] == (
        "document:7: spec.policies[0].path: a stored policy cannot read the Rego script "
        "'check.rego': put the script in `embedded:`"
    )
    file_group = GROUP.replace("ref: banned-components", "ref: file://policies/mine.yaml")
    reply = create(app_client, file_group)
    assert reply.status_code == 422 and "refers to file://policies/mine.yaml" in reply.text
    unknown = POLICY_V1.replace("  inputs:", "  input:")
    reply = create(app_client, unknown)
    assert reply.status_code == 422 and reply.json()["details"]["line"] == 7
    assert create(app_client, "   ").status_code == 400
    # Over the limit in bytes (two per "é") though not in characters: the service's check.
    wide = POLICY_V1 + "# " + "é" * (policies.MAX_DOCUMENT_BYTES // 2)
    reply = create(app_client, wide)
    assert reply.status_code == 413 and reply.json()["code"] == "too_large"
    # Over it in characters: refused by the request schema before the service sees it.
    long = POLICY_V1 + "#" * (policies.MAX_DOCUMENT_BYTES + 1)
    assert create(app_client, long).status_code == 422
    assert app_client.post("/policies", {"raw": POLICY_V1}).status_code == 422
    assert app_client.get("/policies").json()["items"] == []


def test_names_are_unique_and_builtin_names_are_taken(app_client: Env) -> None:
    assert create(app_client, POLICY_V1).status_code == 201
    again = create(app_client, POLICY_V2)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert "'banned-components' already exists" in again.json()["detail"]
    shadow = POLICY_V1.replace("name: banned-components", "name: sbom-ntia")
    reply = create(app_client, shadow)
    assert reply.status_code == 409
    assert reply.json()["detail"] == "'sbom-ntia' is the name of a built-in policy"
    group = GROUP.replace("name: team-sbom", "name: sbom-quality")
    assert create(app_client, group).json()["detail"] == (
        "'sbom-quality' is the name of a built-in policy group"
    )
    reply = app_client.put("/policies/sbom-ntia", {"document": shadow})
    assert reply.status_code == 409 and "cannot be changed" in reply.json()["detail"]
    # Another organisation may use the same name; neither sees the other's.
    other = app_client.new_org()
    assert create(other, POLICY_V2).status_code == 201
    assert app_client.get("/policies/banned-components").json()["digest"].endswith(sha(POLICY_V1))
    assert other.get("/policies/banned-components").json()["revision"] == 1


def test_roles_members_and_robots_read_only(app_client: Env) -> None:
    member = user_token(app_client, "member")
    viewer = user_token(app_client, "viewer")
    robot = app_client.robot()
    for token in (member, viewer, robot):
        reply = create(app_client, POLICY_V1, token=token)
        assert reply.status_code == 403 and reply.json()["code"] == "forbidden"
    assert create(app_client, POLICY_V1, token=user_token(app_client, "admin")).status_code == 201
    for token in (member, viewer, robot):
        assert (
            app_client.put(
                "/policies/banned-components", {"document": POLICY_V2}, token=token
            ).status_code
            == 403
        )
        # Reading is open to the organisation: CI jobs resolve policies with robot tokens.
        assert app_client.get("/policies/banned-components", token=token).status_code == 200
    assert app_client.get("/policies", token=robot).status_code == 200
    assert app_client.client.get("/api/v1/policies").status_code == 401


def test_unknown_names_are_not_found(app_client: Env) -> None:
    renamed = POLICY_V1.replace("banned-components", "nope")
    for reply in (
        app_client.get("/policies/nope"),
        app_client.put("/policies/nope", {"document": renamed}),
    ):
        assert reply.status_code == 404 and reply.json()["code"] == "not_found"
    assert create(app_client.new_org(), POLICY_V1).status_code == 201
    assert app_client.get("/policies/banned-components").status_code == 404


CONTRACT = f"""\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {{name: release}}
spec:
  materials:
    - {{type: SBOM_CYCLONEDX_JSON, name: sbom}}
  policies:
    materials:
      - ref: banned-components
      - ref: chainloop://banned-components@sha256:{sha(POLICY_V1)}
        with: {{names: "requests, urllib3"}}
  policyGroups:
    - ref: chainproof://team-sbom
"""


def test_a_contract_naming_stored_policies_is_resolved_and_evaluated(
    app_client: Env, engine: RegoEngine
) -> None:
    assert create(app_client, POLICY_V1).status_code == 201
    assert create(app_client, GROUP).status_code == 201
    # Revision 2 bans nothing by default: the bare name follows it, the pin stays on 1.
    v2 = POLICY_V2.replace("default: urllib3", "default: nothing-here")
    assert app_client.put("/policies/banned-components", {"document": v2}).json()["revision"] == 2
    org_id, org = app_client.org["id"], app_client.org["name"]
    contract = Contract.parse(CONTRACT, source="contract.yaml")
    material = craft("sbom", str(SBOM), "SBOM_CYCLONEDX_JSON")
    with app_client.sessions() as session:
        loader = PolicyLoader(
            named=policies.resolver(session, org_id),
            pinned=policies.pinned_resolver(session, org_id),
        )
        verifier = PolicyVerifier.for_contract(contract, loader=loader, engine=engine)
        latest, pinned, grouped, ntia = verifier.verify_material(material)
    uri = f"chainproof://{org}/policies/banned-components/revisions/"
    assert latest.name == "banned-components" and latest.passed
    assert latest.reference["uri"] == uri + "2"
    assert latest.reference["digest"] == {"sha256": sha(v2)}
    assert pinned.reference["uri"] == uri + "1"
    assert [v.message for v in pinned.violations] == [
        "component requests is banned",
        "component urllib3 is banned",
    ]
    assert grouped.group is not None and grouped.group["name"] == "team-sbom"
    assert grouped.group["uri"] == f"chainproof://{org}/policies/team-sbom/revisions/1"
    assert [v.message for v in grouped.violations] == ["component requests is banned"]
    assert ntia.reference["uri"] == "chainproof://builtin/sbom-ntia"


def test_the_named_resolver_alone_and_a_missing_pin(app_client: Env) -> None:
    assert create(app_client, POLICY_V1).status_code == 201
    org_id = app_client.org["id"]
    with app_client.sessions() as session:
        named = policies.resolver(session, org_id)
        found = named("banned-components")
        assert found is not None and found[0] == POLICY_V1.encode()
        assert named("sbom-ntia") is None and named("nope") is None
        assert policies.pinned_resolver(session, org_id)("banned-components", "0" * 64) is None
        loader = policies.loader(session, org_id)
        with pytest.raises(PolicyError, match="not the pinned sha256:0000"):
            loader.load("banned-components@sha256:" + "0" * 64)
        # Another organisation's resolver does not see it.
        other = app_client.new_org()
        assert policies.resolver(session, other.org["id"])("banned-components") is None


def test_the_cli_side_resolver_reads_stored_policies_through_the_api(
    app_client: Env, engine: RegoEngine
) -> None:
    from chainproof.client.http import ApiClient
    from chainproof.client.policies import named_resolver, pinned_resolver, policy_loader

    assert create(app_client, POLICY_V1).status_code == 201
    assert create(app_client, GROUP).status_code == 201
    v2 = POLICY_V2.replace("default: urllib3", "default: nothing-here")
    assert app_client.put("/policies/banned-components", {"document": v2}).status_code == 200
    org = app_client.org["name"]
    # The real client over the app (TestClient's transport), with a robot token as in CI.
    transport = app_client.client._transport
    with ApiClient("http://testserver", app_client.robot(), transport=transport) as api:
        named = named_resolver(api)
        found = named("banned-components")
        assert found == (v2.encode(), f"chainproof://{org}/policies/banned-components/revisions/2")
        assert named("sbom-ntia") is None  # built-in: the loader's own library answers
        assert named("nope") is None
        pinned = pinned_resolver(api)
        old = pinned("banned-components", sha(POLICY_V1))
        assert old is not None and old[0] == POLICY_V1.encode() and old[1].endswith("/1")
        assert pinned("banned-components", "0" * 64) is None
        loader = policy_loader(api)
        verifier = PolicyVerifier.for_contract(
            Contract.parse(CONTRACT, source="contract.yaml"), loader=loader, engine=engine
        )
        results = verifier.verify_material(craft("sbom", str(SBOM), "SBOM_CYCLONEDX_JSON"))
    assert [r.name for r in results] == [
        "banned-components",
        "banned-components",
        "banned-components",
        "sbom-ntia",
    ]
    assert [len(r.violations) for r in results[:3]] == [0, 2, 1]
