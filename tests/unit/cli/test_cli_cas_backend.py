"""``chainproof cas-backend`` in-process: flags become the API body, credentials come from
flags, the environment or stdin and are never printed; sizes parse; exit codes map."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import typer
from tests.unit.cli.test_cli_commands import TOKEN, URL, FakeApi, problem
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.cas_backend import parse_size
from chainproof.cli.main import app

SECRET = "very-secret-password-123"


def _view(**over: Any) -> dict[str, Any]:
    base = {
        "id": "b1",
        "name": "registry",
        "provider": "oci",
        "config": {"repository": "r.example/acme/evidence", "username": "ci"},
        "has_secret": True,
        "default": True,
        "fallback": False,
        "max_blob_size": 100_000_000,
        "status": "ok",
        "status_message": None,
        "validated_at": "2026-11-25T06:00:00Z",
        "created_at": "2026-11-25T06:00:00Z",
        "updated_at": "2026-11-25T06:00:00Z",
    }
    return {**base, **over}


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def _invoke(api: FakeApi, *args: str, stdin: str | None = None, **env: str) -> Any:
    obj = CliContext(transport=httpx.MockTransport(api), retries=1, backoff=0)
    return CliRunner().invoke(
        app,
        ["--url", URL, "--token", TOKEN, *args],
        obj=obj,
        input=stdin,
        env={"CHAINPROOF_TOKEN": "", **env},
    )


def test_add_oci_reads_the_password_from_stdin_and_never_prints_it(api: FakeApi) -> None:
    api.on("POST", "/api/v1/cas-backends", _view(), status=201)
    result = _invoke(
        api,
        "cas-backend",
        "add",
        "oci",
        "--name",
        "registry",
        "--repository",
        "r.example/acme/evidence",
        "--username",
        "ci",
        "--password-stdin",
        "--default",
        "--max-size",
        "2GiB",
        stdin=SECRET + "\n",
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "stored (never shown)" in result.output
    assert api.body() == {
        "name": "registry",
        "provider": "oci",
        "config": {"repository": "r.example/acme/evidence", "username": "ci"},
        "secret": {"password": SECRET},
        "default": True,
        "fallback": False,
        "max_blob_size": 2 * 1024**3,
        "skip_validation": False,
    }


def test_add_s3_from_the_environment(api: FakeApi) -> None:
    api.on("POST", "/api/v1/cas-backends", _view(provider="s3"), status=201)
    result = _invoke(
        api,
        "cas-backend",
        "add",
        "s3",
        "--name",
        "bucket",
        "--bucket",
        "b",
        "--access-key-id",
        "AKIA",
        "--no-validate",
        "-o",
        "json",
        CHAINPROOF_CAS_SECRET_ACCESS_KEY=SECRET,
        CHAINPROOF_CAS_PASSWORD="not-for-s3",  # another provider's variable: ignored
    )
    assert result.exit_code == 0, result.output
    body = api.body()
    assert body["secret"] == {"secret_access_key": SECRET} and body["skip_validation"] is True
    assert body["config"] == {"bucket": "b", "access_key_id": "AKIA"}
    assert SECRET not in result.output


def test_update_rotates_credentials_for_the_stored_provider(api: FakeApi) -> None:
    api.on("GET", "/api/v1/cas-backends/bucket", _view(name="bucket", provider="s3"))
    api.on("PATCH", "/api/v1/cas-backends/bucket", _view(name="bucket", provider="s3"))
    result = _invoke(
        api,
        "cas-backend",
        "update",
        "--name",
        "bucket",
        "--secret-stdin",
        "--no-default",
        stdin=SECRET,
    )
    assert result.exit_code == 0, result.output
    assert api.body() == {
        "secret": {"secret_access_key": SECRET},
        "default": False,
        "skip_validation": False,
    }
    assert SECRET not in result.output


def test_list_validate_delete_and_errors(api: FakeApi) -> None:
    api.on("GET", "/api/v1/cas-backends", {"items": [_view()], "next_cursor": None})
    listed = _invoke(api, "cas-backend", "list", "-o", "json")
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["name"] == "registry"
    table = _invoke(api, "cas-backend", "list")
    assert "registry" in table.output and "default" in table.output

    api.on(
        "POST",
        "/api/v1/cas-backends/registry/validate",
        _view(status="invalid", status_message="OCI registry r.example/acme/evidence is down"),
    )
    failed = _invoke(api, "cas-backend", "validate", "--name", "registry")
    assert failed.exit_code == 1 and "is down" in failed.output

    api.on(
        "DELETE",
        "/api/v1/cas-backends/registry",
        lambda r: problem(409, "conflict", "CAS backend 'registry' holds evidence"),
    )
    kept = _invoke(api, "cas-backend", "delete", "--name", "registry")
    assert kept.exit_code == 5 and "holds evidence" in kept.output
    api.on(
        "GET",
        "/api/v1/cas-backends",
        lambda r: problem(403, "forbidden", "this action needs an owner or admin token"),
    )
    assert _invoke(api, "cas-backend", "list").exit_code == 3
    api.on("DELETE", "/api/v1/cas-backends/old", lambda r: httpx.Response(204))
    gone = _invoke(api, "cas-backend", "delete", "--name", "old", "-o", "json")
    assert gone.exit_code == 0 and json.loads(gone.stdout) == {"deleted": "old"}


def test_usage_errors(api: FakeApi) -> None:
    both = _invoke(
        api, "cas-backend", "add", "fs", "--name", "x", "--path", "x", "--default", "--fallback"
    )
    assert both.exit_code == 2
    assert _invoke(api, "cas-backend", "add", "ftp", "--name", "x").exit_code == 2
    bad = _invoke(api, "cas-backend", "add", "fs", "--name", "x", "--max-size", "lots")
    assert bad.exit_code == 2
    assert api.requests == []


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("100MB", 100_000_000),
        ("1.5GB", 1_500_000_000),
        ("512KiB", 512 * 1024),
        ("1048576", 1_048_576),
        ("2 gib", 2 * 1024**3),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-5MB", "10 parsecs", "MB"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_size(text)
