"""CLI commands in-process with CliRunner, the real ApiClient over httpx.MockTransport.

The seam: ``CliRunner.invoke(app, args, obj=CliContext(transport=...))``; the root callback
keeps the transport and fills in --url / --token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

TOKEN = "cp_topsecretTOPSECRETtopsecretTOPSECRET12345"
URL = "http://cp.test"

Route = Callable[[httpx.Request], httpx.Response]


class FakeApi:
    """Routes (METHOD, path) to canned answers and records the requests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, answer: Any, status: int = 200) -> None:
        self.routes[(method, path)] = (
            answer if callable(answer) else (lambda r: httpx.Response(status, json=answer))
        )

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return problem(404, "not_found", f"no route {request.method} {request.url.path}")
        return route(request)


def problem(status: int, code: str, detail: str, **extra: Any) -> httpx.Response:
    body = {
        "type": "about:blank",
        "title": code,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return httpx.Response(
        status, content=json.dumps(body), headers={"content-type": "application/problem+json"}
    )


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def cli(api: FakeApi) -> Callable[..., Any]:
    runner = CliRunner()

    def invoke(*args: str, token: str | None = TOKEN, env: dict[str, str] | None = None) -> Any:
        obj = CliContext(transport=httpx.MockTransport(api), retries=1, backoff=0)
        argv = ["--url", URL, *(["--token", token] if token else []), *args]
        return runner.invoke(app, argv, obj=obj, env={"CHAINPROOF_TOKEN": "", **(env or {})})

    return invoke


def test_project_list_json_is_a_parseable_array(cli: Any, api: FakeApi) -> None:
    items = [{"id": "p1", "name": "shop", "created_at": "2026-01-01T00:00:00Z"}]
    api.on("GET", "/api/v1/projects", {"items": items, "next_cursor": None})
    result = cli("project", "list", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == items


def test_project_list_table(cli: Any, api: FakeApi) -> None:
    api.on(
        "GET", "/api/v1/projects", {"items": [{"id": "p1", "name": "shop"}], "next_cursor": None}
    )
    result = cli("project", "list")
    assert result.exit_code == 0
    assert "shop" in result.stdout and "p1" in result.stdout


def test_project_create_sends_name(cli: Any, api: FakeApi) -> None:
    api.on("POST", "/api/v1/projects", {"id": "p1", "name": "shop"}, status=201)
    result = cli("project", "create", "--name", "shop", "-o", "json")
    assert result.exit_code == 0
    assert api.body() == {"name": "shop"}
    assert json.loads(result.stdout)["id"] == "p1"


def test_auth_status_json(cli: Any, api: FakeApi) -> None:
    me = {"org": {"id": "o1", "name": "acme"}, "token": {"id": "t1", "kind": "user"}}
    api.on("GET", "/api/v1/whoami", me)
    result = cli("auth", "status", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == me
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_token_from_environment(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/whoami", {"org": {}, "token": {}})
    result = cli("auth", "status", token=None, env={"CHAINPROOF_TOKEN": "cp_fromenv"})
    assert result.exit_code == 0
    assert api.requests[0].headers["authorization"] == "Bearer cp_fromenv"


def test_missing_token_exits_3_with_hint(cli: Any) -> None:
    result = cli("project", "list", token=None)
    assert result.exit_code == 3
    assert "Error: no API token" in result.stderr
    assert "CHAINPROOF_TOKEN" in result.stderr


@pytest.mark.parametrize(
    ("status", "code", "exit_code"),
    [
        (404, "not_found", 3),
        (403, "forbidden", 3),
        (401, "unauthorized", 3),
        (409, "conflict", 5),
        (422, "invalid_input", 2),
        (500, "service_error", 4),
    ],
)
def test_problem_errors_map_to_exit_codes(
    cli: Any, api: FakeApi, status: int, code: str, exit_code: int
) -> None:
    api.on(
        "GET",
        "/api/v1/workflows/shop/build",
        lambda r: problem(status, code, "nope", hint="try again"),
    )
    result = cli("workflow", "describe", "--name", "build", "--project", "shop")
    assert result.exit_code == exit_code
    assert result.stderr.startswith("Error: nope")
    assert "Hint: try again" in result.stderr
    assert result.stdout == ""


def test_network_error_exits_4_without_token(cli: Any, api: FakeApi) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api.on("GET", "/api/v1/projects", refuse)
    result = cli("project", "list")
    assert result.exit_code == 4
    assert "Error: cannot reach" in result.stderr
    assert TOKEN not in result.output


def test_contract_error_shows_details(cli: Any, api: FakeApi, tmp_path: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text("schemaVersion: v1\nmaterials: [{type: NOPE, name: x}]\n")
    api.on(
        "POST",
        "/api/v1/contracts",
        lambda r: problem(
            422,
            "invalid_contract",
            "unknown kind NOPE",
            details={"line": 2, "field": "materials[0].type"},
        ),
    )
    result = cli("workflow", "contract", "create", "--name", "rel", "-f", str(contract))
    assert result.exit_code == 2
    assert "line=2" in result.stderr


def test_contract_create_sends_raw_text(cli: Any, api: FakeApi, tmp_path: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text("schemaVersion: v1\nmaterials: []\n")
    answer = {
        "id": "c1",
        "name": "rel",
        "revision": 1,
        "latest_revision": 1,
        "raw": contract.read_text(),
        "spec": {"materials": []},
    }
    api.on("POST", "/api/v1/contracts", answer, status=201)
    result = cli(
        "workflow", "contract", "create", "--name", "rel", "-f", str(contract), "-o", "json"
    )
    assert result.exit_code == 0, result.output
    assert api.body() == {"name": "rel", "raw": contract.read_text()}
    assert json.loads(result.stdout)["revision"] == 1


def test_run_list_passes_filters(cli: Any, api: FakeApi) -> None:
    api.on(
        "GET", "/api/v1/runs", {"items": [{"id": "r1", "status": "failed"}], "next_cursor": None}
    )
    result = cli("workflow", "run", "list", "--project", "shop", "--status", "failed", "-o", "json")
    assert result.exit_code == 0
    params = api.requests[0].url.params
    assert params["project"] == "shop" and params["status"] == "failed"
    assert json.loads(result.stdout) == [{"id": "r1", "status": "failed"}]


def test_run_list_rejects_unknown_status(cli: Any) -> None:
    assert cli("workflow", "run", "list", "--status", "weird").exit_code == 2


def test_run_describe_statement(cli: Any, api: FakeApi) -> None:
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": []}
    api.on("GET", "/api/v1/runs/r1/statement", statement)
    result = cli("workflow", "run", "describe", "--id", "r1", "-o", "statement")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == statement


def test_run_describe_table(cli: Any, api: FakeApi) -> None:
    run = {
        "id": "r1",
        "project": "shop",
        "workflow": "build",
        "status": "succeeded",
        "materials": [
            {
                "name": "sbom",
                "kind": "SBOM_CYCLONEDX_JSON",
                "digest": "sha256:" + "a" * 64,
                "size": 3,
            }
        ],
    }
    api.on("GET", "/api/v1/runs/r1", run)
    result = cli("workflow", "run", "describe", "--id", "r1")
    assert result.exit_code == 0
    assert "succeeded" in result.stdout and "sbom" in result.stdout


def test_output_format_is_validated(cli: Any) -> None:
    result = cli("project", "list", "-o", "yaml")
    assert result.exit_code == 2


def test_api_token_create_parses_expiry(cli: Any, api: FakeApi) -> None:
    api.on("POST", "/api/v1/tokens", {"id": "t1", "name": "ci", "token": "cp_new"}, status=201)
    result = cli(
        "api-token", "create", "--name", "ci", "--project", "shop", "--expires", "30d", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    assert api.body() == {"name": "ci", "project": "shop", "expires_in_seconds": 30 * 86400}
    assert json.loads(result.stdout)["token"] == "cp_new"


def test_api_token_bad_expiry_is_usage_error(cli: Any, api: FakeApi) -> None:
    result = cli("api-token", "create", "--name", "ci", "--expires", "soon")
    assert result.exit_code == 2
    assert api.requests == []


def test_api_token_revoke(cli: Any, api: FakeApi) -> None:
    api.on("DELETE", "/api/v1/tokens/t1", lambda r: httpx.Response(204))
    result = cli("api-token", "revoke", "--id", "t1")
    assert result.exit_code == 0
    assert "revoked" in result.stderr


def test_attestation_status_without_state_exits_3(cli: Any, tmp_path: Path) -> None:
    result = cli("attestation", "status", "--state-dir", str(tmp_path))
    assert result.exit_code == 3
    assert "no attestation in progress" in result.stderr


def test_attestation_reset_state_dir_from_env(cli: Any, tmp_path: Path) -> None:
    result = cli("attestation", "reset", env={"CHAINPROOF_STATE_DIR": str(tmp_path)})
    assert result.exit_code == 3
    assert str(tmp_path) in result.stderr


def _cas_routes(api: FakeApi, blobs: dict[str, bytes]) -> None:
    grant = {"token": "jwt", "url": f"{URL}/cas/v1", "expires_at": "2026-01-01T00:10:00Z"}
    api.on("POST", "/api/v1/cas/tokens", grant)
    for digest, data in blobs.items():
        api.on("GET", f"/cas/v1/blobs/{digest}", lambda r, d=data: httpx.Response(200, content=d))


def test_artifact_download_verifies_and_writes(cli: Any, api: FakeApi, tmp_path: Path) -> None:
    data = b"evidence bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _cas_routes(api, {digest: data})
    dest = tmp_path / "out.bin"
    result = cli("artifact", "download", digest, "--to", str(dest), "-o", "json")
    assert result.exit_code == 0, result.output
    assert dest.read_bytes() == data
    assert json.loads(result.stdout) == {"digest": digest, "path": str(dest), "size": len(data)}
    assert api.body(0) == {"direction": "download", "digest": digest}


def test_artifact_download_mismatch_exits_1(cli: Any, api: FakeApi, tmp_path: Path) -> None:
    digest = "sha256:" + hashlib.sha256(b"expected").hexdigest()
    _cas_routes(api, {digest: b"tampered"})
    result = cli("artifact", "download", digest, "--to", str(tmp_path))
    assert result.exit_code == 1
    assert "do not match" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_artifact_download_bad_digest_is_usage_error(cli: Any, api: FakeApi) -> None:
    result = cli("artifact", "download", "sha256:xyz")
    assert result.exit_code == 2
    assert api.requests == []


def test_artifact_upload_for_run(cli: Any, api: FakeApi, tmp_path: Path) -> None:
    data = b"binary"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _cas_routes(api, {})
    api.on("HEAD", f"/cas/v1/blobs/{digest}", lambda r: httpx.Response(404))
    api.on("PUT", f"/cas/v1/blobs/{digest}", lambda r: httpx.Response(201))
    file = tmp_path / "app.bin"
    file.write_bytes(data)
    result = cli("artifact", "upload", str(file), "--run-id", "r1", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "digest": digest,
        "size": 6,
        "uploaded": True,
        "run_id": "r1",
        "project": None,
    }
    assert api.body(0) == {"direction": "upload", "run_id": "r1"}
    assert api.requests[-1].content == data
    assert api.requests[-1].headers["authorization"] == "Bearer jwt"


def test_artifact_upload_of_a_large_file_reads_it_once(
    cli: Any, api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainproof.client import cas

    monkeypatch.setattr(cas, "STREAM_MIN", 8)  # "large": at least 8 bytes here
    data = b"a large binary"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    grant = {"token": "jwt", "url": f"{URL}/cas/v1", "expires_at": "2026-01-01T00:10:00Z"}
    backend = {"name": "reg", "provider": "oci", "max_blob_size": 100, "streams": True}
    api.on("POST", "/api/v1/cas/tokens", {**grant, "backend": backend})
    api.on("POST", "/cas/v1/uploads", {"digest": digest, "size": len(data)}, status=201)
    file = tmp_path / "app.bin"
    file.write_bytes(data)
    result = cli("artifact", "upload", str(file), "--run-id", "r1", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["digest"] == digest
    assert [r.method for r in api.requests] == ["POST", "POST"]  # grant, upload: no HEAD
    assert api.requests[-1].content == data + digest.encode()  # the digest after the bytes


def test_artifact_upload_without_a_run(cli: Any, api: FakeApi, tmp_path: Path) -> None:
    data = b"release tarball"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _cas_routes(api, {})
    api.on("HEAD", f"/cas/v1/blobs/{digest}", lambda r: httpx.Response(200))
    file = tmp_path / "shop.tgz"
    file.write_bytes(data)
    empty = str(tmp_path / "no-state")
    result = cli("artifact", "upload", str(file), "--state-dir", empty, "-o", "json")
    assert result.exit_code == 0, result.output
    assert api.body(0) == {"direction": "upload"}
    assert json.loads(result.stdout)["uploaded"] is False  # HEAD: already stored
    filed = cli("artifact", "upload", str(file), "--project", "shop", "--state-dir", empty)
    assert filed.exit_code == 0, filed.output
    assert api.body(-2) == {"direction": "upload", "project": "shop"}
    assert filed.stdout.strip() == f"{digest}  {file} (already stored)"


def test_artifact_upload_run_and_project_is_usage_error(
    cli: Any, api: FakeApi, tmp_path: Path
) -> None:
    file = tmp_path / "f"
    file.write_bytes(b"x")
    result = cli("artifact", "upload", str(file), "--run-id", "r1", "--project", "p")
    assert result.exit_code == 2
    assert api.requests == []


def test_artifact_upload_over_the_backend_limit_sends_nothing(
    cli: Any, api: FakeApi, tmp_path: Path
) -> None:
    grant = {
        "token": "jwt",
        "url": f"{URL}/cas/v1",
        "expires_at": "2026-01-01T00:10:00Z",
        "backend": {"name": "small", "provider": "fs", "max_blob_size": 4},
    }
    api.on("POST", "/api/v1/cas/tokens", grant)
    file = tmp_path / "big.bin"
    file.write_bytes(b"12345")
    result = cli("artifact", "upload", str(file), "--run-id", "r1")
    assert result.exit_code == 2
    assert "at most 4" in result.stderr
    assert [r.method for r in api.requests] == ["POST"]


ORG = {
    "id": "o1",
    "name": "acme",
    "allow_implicit_creation": True,
    "created_at": "2026-01-01T00:00:00Z",
}


def test_org_describe_json_and_table(cli: Any, api: FakeApi) -> None:
    api.on("GET", "/api/v1/org", ORG)
    result = cli("org", "describe", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ORG
    table = cli("org", "describe")
    assert table.exit_code == 0, table.output
    assert "acme" in table.stdout and "Implicit creation" in table.stdout


@pytest.mark.parametrize(
    ("flag", "allow"),
    [("--prevent-implicit-workflow-creation", False), ("--allow-implicit-workflow-creation", True)],
)
def test_org_update_sends_the_setting(cli: Any, api: FakeApi, flag: str, allow: bool) -> None:
    api.on(
        "PATCH", "/api/v1/org", lambda r: httpx.Response(200, json={**ORG, **json.loads(r.content)})
    )
    result = cli("org", "update", flag, "-o", "json")
    assert result.exit_code == 0, result.output
    assert api.body() == {"allow_implicit_creation": allow}
    assert json.loads(result.stdout)["allow_implicit_creation"] is allow


def test_org_update_without_flags_sends_an_empty_patch(cli: Any, api: FakeApi) -> None:
    api.on("PATCH", "/api/v1/org", ORG)
    result = cli("org", "update", "-o", "json")
    assert result.exit_code == 0, result.output
    assert api.body() == {}


def test_org_update_forbidden_exits_3(cli: Any, api: FakeApi) -> None:
    api.on("PATCH", "/api/v1/org", lambda r: problem(403, "forbidden", "owner or admin only"))
    result = cli("org", "update", "--prevent-implicit-workflow-creation")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: owner or admin only")


def test_run_describe_table_shows_the_servers_policy_evaluations(cli: Any, api: FakeApi) -> None:
    run = {
        "id": "r2",
        "project": "shop",
        "workflow": "build",
        "status": "blocked",
        "verification": {
            "verified": True,
            "policy": {
                "strategy": "advisory",
                "evaluated": 2,
                "violated": 1,
                "gated_violations": 1,
                "blocked": True,
                "bypassed": False,
            },
        },
        "materials": [],
    }
    evaluation = {
        "name": "sbom-banned-licenses",
        "materialName": "sbom",
        "violations": [{"subject": "x", "message": "component a@1 has banned license(s): MIT"}],
        "skipped": False,
        "skipReasons": [],
        "gate": True,
        "source": "server",
    }
    api.on("GET", "/api/v1/runs/r2", run)
    api.on("GET", "/api/v1/runs/r2/policy-evaluations", {"items": [evaluation]})
    result = cli("workflow", "run", "describe", "--id", "r2")
    assert result.exit_code == 0, result.output
    assert "1 gated (advisory), blocked" in result.stdout
    assert "sbom-banned-licenses" in result.stdout and "MIT" in result.stdout
    as_json = cli("workflow", "run", "describe", "--id", "r2", "-o", "json")
    assert json.loads(as_json.stdout)["policy_evaluations"] == [evaluation]


def test_api_token_create_with_policy_bypass(cli: Any, api: FakeApi) -> None:
    answer = {"id": "t2", "name": "rel", "token": "cp_new", "policy_bypass": True}
    api.on("POST", "/api/v1/tokens", answer, status=201)
    result = cli("api-token", "create", "--name", "rel", "--allow-policy-bypass")
    assert result.exit_code == 0, result.output
    assert api.body() == {"name": "rel", "policy_bypass": True}
    assert "Policy bypass" in result.stdout


def test_org_update_policy_strategy_and_required_policies(
    cli: Any, api: FakeApi, tmp_path: Path
) -> None:
    api.on(
        "PATCH", "/api/v1/org", lambda r: httpx.Response(200, json={**ORG, **json.loads(r.content)})
    )
    required = tmp_path / "required.yaml"
    required.write_text(
        "policies:\n  attestation:\n    - {ref: required-annotations, with: {names: ticket}}\n"
    )
    result = cli(
        "org", "update", "--policy-strategy", "enforced", "--required-policies", str(required)
    )
    assert result.exit_code == 0, result.output
    assert api.body() == {
        "policy_strategy": "enforced",
        "required_policies": {
            "policies": {
                "attestation": [{"ref": "required-annotations", "with": {"names": "ticket"}}]
            }
        },
    }
    assert "required-annotations" in result.stdout and "enforced" in result.stdout
    cleared = cli("org", "update", "--clear-required-policies", "-o", "json")
    assert cleared.exit_code == 0 and api.body() == {"required_policies": None}
    bad = cli("org", "update", "--policy-strategy", "strict")
    assert bad.exit_code == 2
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- a\n")
    wrong = cli("org", "update", "--required-policies", str(not_a_mapping))
    assert wrong.exit_code == 2 and "must be a mapping" in wrong.stderr


def test_artifact_download_refuses_to_overwrite_without_force(
    cli: Any, api: FakeApi, tmp_path: Path
) -> None:
    data = b"evidence bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _cas_routes(api, {digest: data})
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"mine")
    refused = cli("artifact", "download", digest, "--to", str(dest))
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert dest.read_bytes() == b"mine" and api.requests == []
    in_dir = tmp_path / digest.removeprefix("sha256:")
    in_dir.write_bytes(b"mine too")
    assert cli("artifact", "download", digest, "--to", str(tmp_path)).exit_code == 2
    assert in_dir.read_bytes() == b"mine too"
    forced = cli("artifact", "download", digest, "--to", str(dest), "--force")
    assert forced.exit_code == 0, forced.output
    assert dest.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.bin", in_dir.name])
