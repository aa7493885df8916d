"""--remote-state: init, add and push from different "machines", adds racing each other."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import CLI, Cli
from tests.e2e.test_attestation_flow import IMAGE, SBOM, _setup_workflow


def test_matrix_jobs_add_concurrently_and_nothing_is_lost(cli: Cli, tmp_path: Path) -> None:
    robot = _setup_workflow(cli, "remotep")
    started = cli.json(
        "attestation",
        "init",
        "--workflow",
        "build",
        "--project",
        "remotep",
        "--remote-state",
        token=robot,
    )
    assert isinstance(started, dict)
    run_id = started["run_id"]
    assert not Path(cli.env["CHAINPROOF_STATE_DIR"]).exists()  # no local state file

    # Three jobs on three machines (no shared state dir), all at once.
    jobs = []
    for i, (name, value) in enumerate((("sbom", str(SBOM)), ("image", IMAGE), ("version", "3.0"))):
        env = {
            **cli.env,
            "CHAINPROOF_TOKEN": robot,
            "CHAINPROOF_ATTESTATION_ID": run_id,
            "CHAINPROOF_STATE_DIR": str(tmp_path / f"machine-{i}"),
        }
        jobs.append(
            subprocess.Popen(
                [CLI, "attestation", "add", "--name", name, "--value", value],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for job in jobs:
        _, err = job.communicate(timeout=120)
        assert job.returncode == 0, err

    status = cli.json("attestation", "status", "--attestation-id", run_id, token=robot)
    assert isinstance(status, dict)
    assert status["missing"] == []
    assert sorted(m["name"] for m in status["materials"] if m["added"]) == [
        "image",
        "sbom",
        "version",
    ]
    cli("attestation", "push", "--attestation-id", run_id, token=robot)
    runs = cli.json("workflow", "run", "list", "--project", "remotep")
    assert isinstance(runs, list) and runs[0]["status"] == "succeeded"

    # The run is finished: its state can no longer change.
    late = cli(
        "attestation",
        "add",
        "--attestation-id",
        run_id,
        "--name",
        "version",
        "--value",
        "9",
        token=robot,
        check=False,
    )
    assert late.returncode == 5 and "succeeded" in late.stderr
