"""``chainproof policy``: the organisation's stored policies (``list|describe|create|update``)
and, for authors, ``develop init|lint|eval``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    info,
    print_fields,
    print_table,
)

app = typer.Typer(
    help="Policies as code (Rego): store them in the organisation; write, lint and try them.",
    no_args_is_help=True,
)
develop = typer.Typer(
    help="For policy authors: scaffold, lint and evaluate a policy locally.", no_args_is_help=True
)
app.add_typer(develop, name="develop")

PolicyFileOpt = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Policy or PolicyGroup document (YAML or JSON, Chainloop format, Rego embedded).",
    ),
]
LIST_COLUMNS = [
    ("Name", "name"),
    ("Kind", "kind"),
    ("Source", "source"),
    ("Revision", "revision"),
    ("Description", "description"),
    ("Updated", "updated_at"),
]


def _read_stored(file: Path) -> tuple[str, str]:
    """The document's text and name, checked here first so that errors name the file and
    line (the server would only say ``document:LINE``)."""
    from chainproof.errors import PolicyError
    from chainproof.policy.loader import parse_stored

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{file}: the document is not UTF-8 text", source=str(file)) from None
    return text, parse_stored(text, source=str(file)).name


def _show_policy(policy: dict[str, Any], output: Output, title: str) -> None:
    if output is Output.json:
        emit_json(policy)
        return
    revision = policy.get("revision")
    latest = policy.get("latest_revision")
    print_fields(
        [
            ("Name", policy.get("name")),
            ("Kind", policy.get("kind")),
            ("Source", policy.get("source")),
            (
                "Revision",
                f"{revision} (latest {latest})" if revision is not None else None,
            ),
            ("Digest", policy.get("digest")),
            ("Description", policy.get("description")),
            ("Created", policy.get("created_at")),
            ("Reference", _reference(policy)),
        ],
        title=title,
    )


def _reference(policy: dict[str, Any]) -> str:
    """How a contract pins this exact document."""
    return f"{policy.get('name')}@{policy.get('digest')}"


@app.command("list")
def list_(
    ctx: typer.Context,
    builtin: Annotated[
        bool,
        typer.Option("--builtin/--no-builtin", help="Include the built-in policies and groups."),
    ] = True,
    output: OutputOpt = Output.table,
) -> None:
    """List the organisation's stored policies and groups, and the built-in ones.

    Example: chainproof policy list --no-builtin -o json
    """
    items = cli_context(ctx).api().list_policies(builtin=builtin)
    if output is Output.json:
        emit_json(items)
    else:
        print_table(items, LIST_COLUMNS, title="Policies")


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Policy or group name.")],
    revision: Annotated[
        int | None, typer.Option("--revision", min=1, help="Revision (default latest).")
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a stored (or built-in) policy and print its document.

    Example: chainproof policy describe banned-components --revision 1
    """
    policy = cli_context(ctx).api().get_policy(name, revision)
    if output is Output.json:
        emit_json(policy)
        return
    _show_policy(policy, output, f"Policy {name}")
    typer.echo("")
    typer.echo(str(policy.get("document") or "").rstrip("\n"))


@app.command("create")
def create(ctx: typer.Context, file: PolicyFileOpt, output: OutputOpt = Output.table) -> None:
    """Store a policy or group in the organisation (revision 1; owner/admin).

    Its name is the document's metadata.name; contracts then attach it by that name.
    Example: chainproof policy create -f banned-components.yaml
    """
    text, name = _read_stored(file)
    created = cli_context(ctx).api().create_policy(text)
    _show_policy(created, output, f"Policy {name} created")


@app.command("update")
def update(ctx: typer.Context, file: PolicyFileOpt, output: OutputOpt = Output.table) -> None:
    """Add a revision to a stored policy or group (unchanged when the document is the same).

    The policy is the one the document's metadata.name names; its kind cannot change.
    Example: chainproof policy update -f banned-components.yaml
    """
    text, name = _read_stored(file)
    api = cli_context(ctx).api()
    before = api.get_policy(name).get("revision")
    updated = api.update_policy(name, text)
    if updated.get("revision") == before and output is Output.table:
        info(f"Policy {name} is unchanged (same digest as revision {before}).")
    _show_policy(updated, output, f"Policy {name}")


@develop.command("init")
def init(
    name: Annotated[str, typer.Option("--name", help="Policy name (a DNS label).")] = "my-policy",
    directory: Annotated[
        Path, typer.Option("--directory", "-d", help="Where to write the files.")
    ] = Path("."),
    kind: Annotated[
        str, typer.Option("--kind", help="Evidence kind the policy applies to.")
    ] = "SBOM_CYCLONEDX_JSON",
    description: Annotated[str, typer.Option("--description", help="One-line description.")] = "",
    embedded: Annotated[
        bool, typer.Option("--embedded", help="Put the Rego inside the YAML file.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold a policy: NAME.yaml (Chainloop's Policy format) and NAME.rego.

    Example: chainproof policy develop init --name banned-packages --kind SBOM_SPDX_JSON
    """
    from chainproof.policy.develop import scaffold

    written = scaffold(
        directory, name, kind=kind.upper(), description=description, embedded=embedded, force=force
    )
    for path in written:
        typer.echo(f"Wrote {path}")
    typer.echo(f"Next: chainproof policy develop lint -f {written[0]}")


@develop.command("lint")
def lint(
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            "-f",
            "--policy",
            "-p",
            exists=True,
            dir_okay=False,
            help="Policy or policy group YAML, or a .rego script.",
        ),
    ],
    output: OutputOpt = Output.table,
) -> None:
    """Check a policy: document schema, Rego syntax and compilation (with file and line).

    Exits 2 when there is a problem. Example: chainproof policy develop lint -f policy.yaml
    """
    from chainproof.errors import PolicyError
    from chainproof.policy.develop import lint as lint_file

    problems = lint_file(file)
    if output is Output.json:
        emit_json(
            {"file": str(file), "ok": not problems, "problems": [p.to_dict() for p in problems]}
        )
    elif not problems:
        typer.echo(f"{file}: OK")
    else:
        for problem in problems:
            info(f"Error: {problem.message}")
    if problems:
        raise typer.Exit(PolicyError.exit_code)


@develop.command("eval")
def evaluate(
    policy: Annotated[
        str, typer.Option("--policy", "-p", help="Policy file, built-in name or https:// URL.")
    ],
    material: Annotated[str, typer.Option("--material", "-m", help="The evidence file.")],
    kind: Annotated[
        str | None, typer.Option("--kind", help="Evidence kind (default: detected).")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="Policy argument as name=value; repeat for more."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds the policy may run.", min=0.1)
    ] = 10.0,
    allowed_hostnames: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-hostnames",
            help="Hosts the policy's http.send may reach (comma-separated or repeated); "
            "without it, a policy calling http.send is refused.",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = Output.table,
) -> None:
    """Evaluate a policy on an evidence file, as `attestation add` would.

    Example: chainproof policy develop eval --policy sbom-banned-licenses
    --material sbom.cdx.json --input licenses=AGPL-3.0-only

    Example: chainproof policy develop eval --policy osv.yaml --material sbom.cdx.json
    --allowed-hostnames api.osv.dev
    """
    from chainproof.oci.images import RegistryImageResolver
    from chainproof.policy.develop import evaluate_file
    from chainproof.policy.engine import RegoEngine
    from chainproof.policy.network import parse_hostnames

    args = _inputs(inputs)
    hosts = parse_hostnames(allowed_hostnames or [])
    with RegoEngine(timeout=timeout) as engine, RegistryImageResolver(os.environ) as images:
        evaluation, used = evaluate_file(
            policy,
            material,
            kind=kind,
            inputs=args,
            engine=engine,
            warn=info,
            images=images,
            allowed_hosts=hosts,
        )
    if evaluation is None:
        if output is Output.json:
            emit_json({"policy": policy, "kind": used, "ignored": True})
        else:
            typer.echo(f"The policy ignored this {used} input (result.ignore).")
        return
    _show(evaluation.to_dict(), output)


def _inputs(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not name=value", param_hint="--input")
        out[key.strip()] = value
    return out


def _show(result: dict[str, Any], output: Output) -> None:
    if output is Output.json:
        emit_json(result)
        return
    typer.echo(f"Policy {result['name']} on {result['type']}:")
    if result["skipped"]:
        reasons = "; ".join(result["skipReasons"]) or "no reason given"
        typer.echo(f"  skipped: {reasons}")
    elif not result["violations"]:
        typer.echo("  passed: no violations")
    else:
        typer.echo(f"  {len(result['violations'])} violation(s):")
        for violation in result["violations"]:
            typer.echo(f"  - {violation['message']}")
