"""An owner turns implicit creation off; `attestation init` then refuses unknown workflows."""

from __future__ import annotations

from tests.e2e.conftest import Cli


def test_implicit_creation_can_be_turned_off_and_on(cli: Cli) -> None:
    org = cli.json("org", "describe")
    assert isinstance(org, dict) and org["allow_implicit_creation"] is True
    cli("project", "create", "--name", "orgp")
    cli("workflow", "create", "--name", "known", "--project", "orgp")

    off = cli.json("org", "update", "--prevent-implicit-workflow-creation")
    assert isinstance(off, dict) and off["allow_implicit_creation"] is False
    try:
        proc = cli("attestation", "init", "--workflow", "nope", "--project", "nope2", check=False)
        assert proc.returncode == 3
        assert "implicit creation" in proc.stderr
        # existing workflows still attest
        cli("attestation", "init", "--workflow", "known", "--project", "orgp")
        cli("attestation", "reset", "--trigger", "cancellation")
    finally:
        on = cli.json("org", "update", "--allow-implicit-workflow-creation")
    assert isinstance(on, dict) and on["allow_implicit_creation"] is True
    cli("attestation", "init", "--workflow", "nope", "--project", "nope2")
    cli("attestation", "reset", "--trigger", "cancellation")
