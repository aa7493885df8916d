"""``chainproof apply -f``: the CLI over the real app (TestClient's transport), SQLite and
PostgreSQL. Creates, reports unchanged on a second run, shows the diff in a dry run without
changing anything, updates; a bad document changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.conftest import Env
from typer.testing import CliRunner

from chainproof.cli._common import CliContext
from chainproof.cli.main import app

POLICY = """\
apiVersion: chainloop.dev/v1
kind: Policy
metadata:
  name: team-no-latest
spec:
  policies:
    - kind: CONTAINER_IMAGE
      embedded: |
        package team_no_latest
        import rego.v1
        valid_input := true
        tag := input.chainloop_metadata.annotations["chainloop.material.image.tag"]
        violations contains "latest" if tag == "latest"
"""

CONTRACT = """\
# the release contract
apiVersion: chainloop.dev/v1
kind: Contract
metadata:
  name: release
spec:
  materials:
    - {name: image, type: CONTAINER_IMAGE}
  policies:
    materials:
      - ref: team-no-latest
      - ref: chainloop://artifact-signed
"""

OTHER = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: nightly}
spec:
  materials:
    - {name: sbom, type: SBOM_CYCLONEDX_JSON}
"""


def _apply(env: Env, *args: str) -> Any:
    obj = CliContext(transport=env.client._transport, retries=0, backoff=0)
    environ = {"CHAINPROOF_URL": "http://testserver", "CHAINPROOF_TOKEN": env.token}
    return CliRunner().invoke(app, ["apply", *args], obj=obj, env=environ)


def _actions(result: Any) -> dict[tuple[str, str], tuple[str, int | None]]:
    assert result.exit_code == 0, result.output
    return {(c["kind"], c["name"]): (c["action"], c["revision"]) for c in json.loads(result.stdout)}


def test_apply_creates_is_idempotent_and_updates(app_client: Env, tmp_path: Path) -> None:
    (tmp_path / "release.yaml").write_text(POLICY + "---\n" + CONTRACT)
    (tmp_path / "nightly.yml").write_text(OTHER)
    first = _actions(_apply(app_client, "-f", str(tmp_path), "-o", "json"))
    assert first == {
        ("Policy", "team-no-latest"): ("created", 1),
        ("Contract", "release"): ("created", 1),
        ("Contract", "nightly"): ("created", 1),
    }
    stored = app_client.get("/contracts/release").json()
    assert stored["spec"]["spec"]["policies"]["materials"][0]["ref"] == "team-no-latest"

    again = _actions(_apply(app_client, "-f", str(tmp_path), "-o", "json"))
    assert {k: a for k, (a, _) in again.items()} == {k: "unchanged" for k in first}

    (tmp_path / "release.yaml").write_text(
        POLICY + "---\n" + CONTRACT.replace("name: image,", "name: app-image,")
    )
    dry = _apply(app_client, "-f", str(tmp_path / "release.yaml"), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would update" in dry.stdout and "unchanged" in dry.stdout
    assert "-    name: image\n+    name: app-image\n" in dry.stdout
    assert app_client.get("/contracts/release").json()["revision"] == 1  # nothing changed

    updated = _actions(_apply(app_client, "-f", str(tmp_path / "release.yaml"), "-o", "json"))
    assert updated == {
        ("Policy", "team-no-latest"): ("unchanged", 1),
        ("Contract", "release"): ("updated", 2),
    }
    assert app_client.get("/contracts/release").json()["revision"] == 2


def test_a_bad_document_changes_nothing(app_client: Env, tmp_path: Path) -> None:
    bad = CONTRACT.replace("type: CONTAINER_IMAGE", "type: CONTAINER_IMAGES")
    (tmp_path / "all.yaml").write_text(OTHER + "---\n" + bad)
    result = _apply(app_client, "-f", str(tmp_path / "all.yaml"))
    assert result.exit_code == 2, result.output
    assert "all.yaml (document 2)" in result.stderr and "CONTAINER_IMAGES" in result.stderr
    assert app_client.get("/contracts/nightly").status_code == 404

    (tmp_path / "all.yaml").write_text("schemaVersion: v1\nmaterials: []\n")
    result = _apply(app_client, "-f", str(tmp_path / "all.yaml"))
    assert result.exit_code == 2
    assert "needs a kind and a metadata.name" in result.stderr
