"""The seven kinds Chainloop has beyond the first 36 (issue 21), through the installed CLI
against a server: collected at init, detected at add, signed into the pushed statement."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.e2e.conftest import Cli

MATERIALS = Path(__file__).parent.parent / "assets" / "materials"
CONTRACT = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata: {name: windows-release}
spec:
  materials:
    - {type: CHAINLOOP_AI_AGENT_CONFIG, name: agents}
    - {type: CHAINLOOP_AI_CODING_SESSION, name: session}
    - {type: SYSINTERNALS_SIGCHECK, name: signatures}
    - {type: SYSINTERNALS_ACCESSCHK, name: permissions}
    - {type: CERTCC_DRANZER, name: activex}
    - {type: RADAMSA_REPORT, name: fuzzing}
    - {type: RADAMSA_CRASHES, name: crashes}
"""
DETECTED = {
    "session": MATERIALS / "ai" / "ai-coding-session.json",
    "signatures": MATERIALS / "windows" / "sigcheck-report.csv",
    "permissions": MATERIALS / "windows" / "accesschk-default.txt",
    "activex": MATERIALS / "windows" / "dranzer-report.txt",
    "fuzzing": MATERIALS / "windows" / "radamsa-meta.txt",
}


def test_new_kinds_collected_detected_and_pushed(cli: Cli, tmp_path: Path) -> None:
    (cli.cwd / "CLAUDE.md").write_text("# Rules\nRun the tests.\n", encoding="utf-8")
    (cli.cwd / ".cursorrules").write_text("Be concise.\n", encoding="utf-8")
    (cli.cwd / "AGENTS.md").write_text("# Agents\n", encoding="utf-8")
    contract = tmp_path / "windows-contract.yaml"
    contract.write_text(CONTRACT, encoding="utf-8")
    init = ["attestation", "init", "--workflow", "win", "--project", "kinds21"]
    bad = cli(*init, "--contract", str(contract), "--collectors", "aiconfig,bogus", check=False)
    assert bad.returncode == 2 and "unknown collector 'bogus'" in bad.stderr

    cli(*init, "--contract", str(contract), "--collectors", "aiconfig")
    status = cli.json("attestation", "status")
    assert isinstance(status, dict)
    filled = {m["name"]: m for m in status["materials"]}
    assert filled["agents"]["added"] is True  # claude: the slot; cursor: an extra material
    assert [m["name"] for m in status["extra_materials"]] == ["ai-agent-config-cursor"]

    for name, path in DETECTED.items():
        added = cli.json("attestation", "add", "--value", str(path))
        assert isinstance(added, dict) and added["name"] == name, (path, added)
    refused = cli(
        "attestation", "add", "--name", "extra-log", "--value",
        str(MATERIALS / "windows" / "radamsa-meta-invalid.txt"), "--kind", "RADAMSA_REPORT",
        check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "not a radamsa -M metadata log" in refused.stderr
    crashes = tmp_path / "crashes.tar.gz"
    with tarfile.open(crashes, "w:gz") as tf:
        for index in (1, 2, 3):
            entry = tmp_path / f"crash-{index}.bin"
            entry.write_bytes(bytes([index]) * 64)
            tf.add(entry, entry.name)
    cli("attestation", "add", "--name", "crashes", "--value", str(crashes))
    cli("attestation", "push")

    runs = cli.json("workflow", "run", "list", "--project", "kinds21")
    assert isinstance(runs, list)
    statement = json.loads(
        cli("workflow", "run", "describe", "--id", runs[0]["id"], "-o", "statement").stdout
    )
    recorded = {m["name"]: m["annotations"] for m in statement["predicate"]["materials"]}
    summaries = {n: json.loads(a["chainproof.material.summary"]) for n, a in recorded.items()}
    assert recorded["agents"]["chainproof.material.kind"] == "CHAINLOOP_AI_AGENT_CONFIG"
    assert summaries["agents"]["agent"] == "claude"
    assert summaries["agents"]["paths"] == ["AGENTS.md", "CLAUDE.md"]
    assert summaries["ai-agent-config-cursor"]["paths"] == [".cursorrules", "AGENTS.md"]
    assert summaries["session"]["model"] == "claude-opus-4-6"
    assert summaries["signatures"]["unsigned"] == 1
    assert summaries["permissions"]["writable_objects"] == 1
    assert summaries["activex"]["failed_count"] == 1
    assert summaries["fuzzing"]["iterations"] == 2
    assert summaries["crashes"] == {"crashes": 3, "archive": True}
    assert recorded["crashes"]["chainproof.material.radamsa.crashes.count"] == "3"
