"""``chainproof policy develop init|lint|eval`` in-process (CliRunner): output and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from chainproof.cli.main import app

ASSETS = Path(__file__).resolve().parents[2] / "assets"
USER = ASSETS / "policies" / "user"
SBOM = ASSETS / "policies" / "inputs" / "cyclonedx-ntia-complete.json"

runner = CliRunner()


def test_init_scaffolds_a_policy_that_lints_and_evaluates(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["policy", "develop", "init", "--name", "no-forbidden", "-d", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "no-forbidden.yaml").exists() and (tmp_path / "no-forbidden.rego").exists()
    lint = runner.invoke(
        app, ["policy", "develop", "lint", "-f", str(tmp_path / "no-forbidden.yaml")]
    )
    assert lint.exit_code == 0, lint.output
    assert "OK" in lint.output
    evaluated = runner.invoke(
        app,
        [
            "policy", "develop", "eval", "--policy", str(tmp_path / "no-forbidden.yaml"),
            "--material", str(SBOM), "--input", "forbidden=yes", "-o", "json",
        ],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    record = json.loads(evaluated.stdout)
    assert record["type"] == "SBOM_CYCLONEDX_JSON"
    assert [v["message"] for v in record["violations"]] == ["forbidden is set"]
    again = runner.invoke(
        app, ["policy", "develop", "init", "--name", "no-forbidden", "-d", str(tmp_path)]
    )
    assert again.exit_code == 2 and "already exists" in again.output


def test_init_embedded_lints(tmp_path: Path) -> None:
    args = ["policy", "develop", "init", "--name", "tests-pass", "--kind", "junit_xml"]
    result = runner.invoke(app, [*args, "--embedded", "-d", str(tmp_path)])
    assert result.exit_code == 0
    assert not (tmp_path / "tests-pass.rego").exists()
    lint = runner.invoke(
        app, ["policy", "develop", "lint", "-f", str(tmp_path / "tests-pass.yaml")]
    )
    assert lint.exit_code == 0, lint.output


def test_lint_reports_rego_syntax_errors_with_file_and_line(tmp_path: Path) -> None:
    for name in ("syntax-error-path.yaml", "syntax-error.rego", "syntax-error.yaml"):
        shutil.copy(USER / name, tmp_path / name)
    result = runner.invoke(
        app, ["policy", "develop", "lint", "-f", str(tmp_path / "syntax-error.yaml")]
    )
    assert result.exit_code == 2
    assert f"Error: {tmp_path / 'syntax-error.yaml'}:14:" in result.output
    result = runner.invoke(
        app,
        ["policy", "develop", "lint", "-p", str(tmp_path / "syntax-error-path.yaml"), "-o", "json"],
    )
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["problems"][0]["message"].startswith(f"{tmp_path / 'syntax-error.rego'}:")
    bare = runner.invoke(
        app, ["policy", "develop", "lint", "-f", str(tmp_path / "syntax-error.rego")]
    )
    assert bare.exit_code == 2


def test_lint_schema_errors_and_groups() -> None:
    result = runner.invoke(
        app, ["policy", "develop", "lint", "-f", str(USER / "bad-unknown-field.yaml")]
    )
    assert result.exit_code == 2
    assert "bad-unknown-field.yaml:8: spec.policies[0].embeded: unknown field" in result.output
    group = runner.invoke(app, ["policy", "develop", "lint", "-f", str(USER / "group.yaml")])
    assert group.exit_code == 0, group.output


def test_eval_a_builtin_by_name() -> None:
    result = runner.invoke(
        app,
        [
            "policy", "develop", "eval", "--policy", "sbom-banned-licenses",
            "--material", str(SBOM), "--kind", "SBOM_CYCLONEDX_JSON",
            "-i", "licenses=GPL-3.0-only", "-i", "extra=1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 violation(s)" in result.stdout
    assert "urllib3@2.2.3 has banned license(s): GPL-3.0-only" in result.stdout
    assert "argument 'extra' is not an input" in result.stderr


def test_eval_skipped_and_errors() -> None:
    statement = ASSETS / "policies" / "inputs" / "statement-ci.json"
    ok = runner.invoke(
        app,
        [
            "policy",
            "develop",
            "eval",
            "-p",
            "runner-ci",
            "-m",
            str(statement),
            "--kind",
            "ATTESTATION",
        ],
    )
    assert ok.exit_code == 0 and "passed: no violations" in ok.stdout
    skipped = runner.invoke(
        app,
        [
            "policy",
            "develop",
            "eval",
            "-p",
            "sbom-ntia",
            "-m",
            str(statement),
            "--kind",
            "EVIDENCE",
        ],
    )
    assert skipped.exit_code == 2
    assert "policy sbom-ntia has no script for EVIDENCE materials (it applies to" in skipped.output
    not_sbom = runner.invoke(
        app,
        ["policy", "develop", "eval", "-p", "sbom-ntia", "-m", str(statement), "-o", "json",
         "--kind", "SBOM_SPDX_JSON"],
    )  # fmt: skip
    assert not_sbom.exit_code == 2  # the material is not a valid SPDX document
    vex = ASSETS / "materials" / "vex" / "openvex-acme-appliance.json"
    missing = runner.invoke(
        app, ["policy", "develop", "eval", "-p", "vex-covers-cves", "-m", str(vex)]
    )
    assert missing.exit_code == 2 and "missing required input 'cves'" in missing.output
    unknown = runner.invoke(app, ["policy", "develop", "eval", "-p", "nope", "-m", str(SBOM)])
    assert unknown.exit_code == 2 and "unknown policy 'nope'" in unknown.output


def test_eval_stops_a_slow_policy(tmp_path: Path) -> None:
    evidence = tmp_path / "e.json"
    evidence.write_text('{"a": 1}')
    result = runner.invoke(
        app,
        [
            "policy", "develop", "eval", "-p", str(USER / "slow.yaml"), "-m", str(evidence),
            "--kind", "EVIDENCE", "--timeout", "0.5",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "policy slow did not finish within 0.5 s and was stopped" in result.output
