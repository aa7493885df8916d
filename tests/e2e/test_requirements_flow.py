"""New requirements reach teams, from the installed CLI against a server process: a contract
revision adds a material, an annotation and a policy; the diff shows it, init says it, push
lists everything missing, rollout shows the workflow lagging, and the grace period first
announces, then refuses, runs on the older revision."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import Cli, Server, cli_for, start_server
from tests.pg import pg_database

V1 = """apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: req}
spec:
  materials:
    - {name: version, type: STRING}
"""
V2 = """apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: req}
spec:
  materials:
    - {name: version, type: STRING}
    - {name: dockerfile, type: ARTIFACT}
  annotations:
    - {name: owner}
  policies:
    materials:
      - {ref: sbom-ntia}
"""
WF = ("--workflow", "build", "--project", "reqp")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server process on SQLite, then one on PostgreSQL."""
    tmp = tmp_path_factory.mktemp("server")
    if request.param == "sqlite":
        yield from start_server(tmp, run_expiry_seconds=600)
        return
    for url in pg_database():
        yield from start_server(
            tmp, run_expiry_seconds=600, extra_env={"CHAINPROOF_DATABASE_URL": url}
        )


@pytest.fixture
def cli(db_server: Server, tmp_path: Path) -> Cli:
    return cli_for(db_server, tmp_path)


def test_new_requirements_from_diff_to_grace_refusal(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(V1)
    (tmp_path / "v2.yaml").write_text(V2)
    cli("workflow", "contract", "create", "--name", "req", "-f", str(tmp_path / "v1.yaml"))
    cli(
        "workflow",
        "create",
        "--name",
        "build",
        "--project",
        "reqp",
        "--contract",
        "req",
        "--team",
        "payments",
    )
    cli("attestation", "init", *WF)
    cli("attestation", "add", "--name", "version", "--value", "1.0.0")
    cli("attestation", "push")
    cli("workflow", "contract", "update", "--name", "req", "-f", str(tmp_path / "v2.yaml"))

    # The diff, for people (grouped, with markers) and for scripts.
    table = cli("workflow", "contract", "describe", "--name", "req", "--diff", "1..2").stdout
    assert "revision 1 → 2" in table
    for word in ("Materials", "dockerfile", "Annotations", "owner", "Policies", "sbom-ntia"):
        assert word in table
    diff = cli.json("workflow", "contract", "describe", "--name", "req", "--diff", "1..")
    assert isinstance(diff, dict) and (diff["from"], diff["to"]) == (1, 2)
    assert [(c["section"], c["op"], c["name"]) for c in diff["changes"]] == [
        ("materials", "+", "dockerfile"),
        ("policies", "+", "sbom-ntia"),
        ("annotations", "+", "owner"),
    ]
    backwards = cli(
        "workflow", "contract", "describe", "--name", "req", "--diff", "2..1", check=False
    )
    assert backwards.returncode == 2 and "Hint:" in backwards.stderr
    unknown = cli(
        "workflow", "contract", "describe", "--name", "req", "--diff", "1..5", check=False
    )
    assert unknown.returncode == 3 and "no revision 5" in unknown.stderr

    # init says what is new since the last successful run, in plain words and in JSON.
    init = cli("attestation", "init", *WF, "-o", "json")
    assert 'new since revision 1: material "dockerfile" (ARTIFACT)' in init.stderr
    assert 'policy "sbom-ntia"' in init.stderr and 'annotation "owner"' in init.stderr
    news = json.loads(init.stdout)["contract"]["new_requirements"]
    assert news["since_revision"] == 1 and len(news["changes"]) == 3

    # push lists everything still missing at once, and sends nothing.
    cli("attestation", "add", "--name", "version", "--value", "2.0.0")
    push = cli("attestation", "push", check=False)
    assert push.returncode == 1
    assert "material dockerfile (ARTIFACT)" in push.stderr and "annotation owner" in push.stderr

    # rollout: the workflow has not complied with revision 2 yet.
    rollout = cli.json("workflow", "contract", "rollout", "--name", "req")
    assert isinstance(rollout, dict) and rollout["latest_revision"] == 2
    [build] = rollout["workflows"]
    assert build["team"] == "payments" and build["last_compliant_revision"] == 1
    assert not build["complied_newest"] and build["lagging_since"] == rollout["published_at"]
    assert "build" in cli("workflow", "contract", "rollout", "--name", "req").stdout

    # Within the grace period a run pinned to revision 1 is told its deadline...
    cli("org", "update", "--contract-grace", "1h")
    pinned = cli("attestation", "init", *WF, "--contract-revision", "1", "--replace")
    assert "revision 2 becomes required on" in pinned.stderr
    cli("attestation", "add", "--name", "version", "--value", "1.0.1")
    # ...and once the grace period is over, neither its push nor a new pinned init is taken.
    assert "1s" in cli("org", "update", "--contract-grace", "1s").stdout
    time.sleep(1.5)
    late = cli("attestation", "push", check=False)
    assert late.returncode == 1, late.stderr
    assert "revision 1 is no longer accepted since" in late.stderr
    assert "revision 2 is required" in late.stderr
    refused = cli("attestation", "init", *WF, "--contract-revision", "1", "--replace", check=False)
    assert refused.returncode == 1 and "no longer accepted" in refused.stderr
    cli("org", "update", "--contract-grace", "0")
    assert cli("attestation", "init", *WF, "--contract-revision", "1", "--replace").returncode == 0
