"""The root's commands, imported only when invoked (docs/contributing.md §8).

``chainproof --help`` lists every command from :data:`COMMANDS` (name, module, one-line
help) without importing a command module; ``chainproof NAME ...`` imports the one module it
runs. A unit test compares this table with the real commands, so it cannot drift.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer import _click  # Typer's own Click (the type of every command it builds)
from typer.core import TyperCommand

#: Commands that run services: pydantic plugins (e.g. tracing) stay enabled in them.
SERVICES = frozenset({"server", "cas"})

#: Root command name -> (module, one-line help), in the order ``--help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": (
        "chainproof.cli.verify",
        "Verify a Sigstore bundle offline (exit 1 naming the check that failed).",
    ),
    "server": (
        "chainproof.cli.server",
        "Create and run the embedded control plane (one process, data in one directory).",
    ),
    "auth": ("chainproof.cli.auth", "Sign in, sign out, and check the credentials the CLI uses."),
    "org": ("chainproof.cli.org", "Describe and configure your organisation."),
    "project": (
        "chainproof.cli.project",
        "Create, list, block and rename projects (they group workflows), release their "
        "versions and give people project roles.",
    ),
    "workflow": ("chainproof.cli.workflow", "Manage workflows, their contracts and their runs."),
    "api-token": (
        "chainproof.cli.api_token",
        "Create, list and revoke API tokens: robots for CI jobs, personal ones for people.",
    ),
    "ci-identity": (
        "chainproof.cli.ci_identity",
        "Trust CI jobs by their OIDC ID token (no stored API token): add, list, remove.",
    ),
    "keys": (
        "chainproof.cli.keys",
        "Generate signing key pairs (cosign format) and register their public keys.",
    ),
    "signing-key": (
        "chainproof.cli.signing_key",
        "Register the public keys of `attestation push --key` signers.",
    ),
    "attestation": (
        "chainproof.cli.attestation",
        "Craft an attestation in CI: init, add evidence, push (or reset).",
    ),
    "artifact": ("chainproof.cli.artifact", "Upload and download evidence by digest (CAS)."),
    "cas-backend": (
        "chainproof.cli.cas_backend",
        "Manage where your organisation's evidence is stored (owner or admin token).",
    ),
    "cas": ("chainproof.cli.cas", "Run the content-addressable store (CAS) as its own service."),
    "policy": (
        "chainproof.cli.policy",
        "Policies as code (Rego): store them in the organisation; write, lint and try them.",
    ),
    "drift": (
        "chainproof.cli.drift",
        "Drift findings: stopped, failing, regressed, runner-changed, lagging, unmanaged.",
    ),
    "integration": (
        "chainproof.cli.integration",
        "Send events (runs, policy violations, contract revisions) to webhooks, chat, email.",
    ),
    "audit": ("chainproof.cli.audit", "Read the audit log: who did what, when."),
    "discover": (
        "chainproof.cli.discover",
        "Which runs produced or used a digest, and what else they attested (a tree).",
    ),
    "component": (
        "chainproof.cli.component",
        "Search the components of every SBOM the organisation pushed (purl, name, license).",
    ),
    "import": (
        "chainproof.cli.imports",
        "Bring attestations made by Chainloop into the organisation (verified first).",
    ),
    "apply": (
        "chainproof.cli.apply",
        "Create or update contracts, policies and groups from YAML files (--dry-run: the diff).",
    ),
}

#: Root commands that are one command (the module's function of that name), not a group.
SINGLE = frozenset({"verify", "discover", "apply"})


def load_command(name: str) -> _click.Command:
    """Import the module of root command ``name`` and build its Click command."""
    module: Any = importlib.import_module(COMMANDS[name][0])
    if name in SINGLE:
        shell = typer.Typer(add_completion=False)
        shell.command(name)(getattr(module, name))
        command = typer.main.get_command(shell)
    else:
        if name == "server":
            from chainproof.cli import server_admin, server_migrate

            if not module.app.registered_groups:  # add the sub-groups once per process
                module.app.add_typer(server_migrate.app, name="migrate")
                module.app.add_typer(server_admin.app, name="admin")
        command = typer.main.get_group(module.app)
    command.name = name
    return command


def stub(name: str) -> _click.Command:
    """A stand-in carrying only the name and one-line help, for listing in ``--help``."""
    return TyperCommand(name, help=COMMANDS[name][1], short_help=COMMANDS[name][1])


class LazyCommands(MutableMapping[str, _click.Command]):
    """The root's ``commands`` mapping: names and membership come from :data:`COMMANDS`;
    reading a command imports its module (once). Walking all values loads every command,
    which is what tests of the whole tree want."""

    def __init__(self, extra: MutableMapping[str, _click.Command] | None = None) -> None:
        self._loaded: dict[str, _click.Command] = dict(extra or {})

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._loaded if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(name not in COMMANDS for name in self._loaded)
