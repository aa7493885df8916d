"""``chainproof attestation``: craft an attestation in CI (init → add → push, or reset)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._attestation_io import (
    AllowedHostsOpt,
    PolicyInputFileOpt,
    PolicyInputOpt,
    policy_inputs,
    show_policies,
    show_status,
)
from chainproof.cli._ci_token import forget_ci_identity, use_ci_identity
from chainproof.cli._common import (
    AnnotationOpt,
    Output,
    OutputOpt,
    StateDirOpt,
    cli_context,
    emit_json,
    info,
    parse_annotations,
    transfer_progress,
)
from chainproof.core.chainloop_env import envvars

app = typer.Typer(
    help="Craft an attestation in CI: init, add evidence, push (or reset).",
    no_args_is_help=True,
)


class Trigger(StrEnum):
    failure = "failure"
    cancellation = "cancellation"


AttestationIdOpt = Annotated[
    str | None,
    typer.Option(
        "--attestation-id",
        envvar="CHAINPROOF_ATTESTATION_ID",
        help="Run id of an attestation started with --remote-state (state kept on the server).",
        show_default=False,
    ),
]


def _state_file(ctx: typer.Context, state_dir: Path | None) -> Path:
    from chainproof.client.attestation import state_path

    return state_path(state_dir, cli_context(ctx).environ)


def _open(ctx: typer.Context, state_dir: Path | None, attestation_id: str | None) -> Any:
    """The API client and the state store: remote by --attestation-id, else the local file."""
    from chainproof.client import attestation

    cli = cli_context(ctx)
    if attestation_id:
        if not cli.token:
            use_ci_identity(cli, _state_file(ctx, state_dir), None, run_id=attestation_id)
        api = cli.api()
        return api, attestation.RemoteState(api, attestation_id)
    path = _state_file(ctx, state_dir)
    state = attestation.load_state(path)
    use_ci_identity(cli, path, state.server_url, run_id=state.run_id)
    return cli.api(state.server_url), attestation.LocalState(path)


@app.command("init")
def init(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Option("--workflow", help="Workflow name.")],
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    version: Annotated[
        str | None, typer.Option("--version", help="Project version, e.g. v1.2.3.")
    ] = None,
    contract: Annotated[
        str | None, typer.Option("--contract", help="Contract name, or a contract file to apply.")
    ] = None,
    contract_revision: Annotated[
        int | None, typer.Option("--contract-revision", help="Pin a contract revision.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Discard an attestation in progress.")
    ] = False,
    remote_state: Annotated[
        bool,
        typer.Option(
            "--remote-state",
            help="Keep the state on the server (for steps on other machines); later commands "
            "name it with --attestation-id.",
        ),
    ] = False,
    collectors: Annotated[
        list[str] | None,
        typer.Option(
            "--collectors",
            help="Also gather this evidence from the working directory (repeatable or "
            "comma-separated): aiconfig = the AI agent configuration (CLAUDE.md, AGENTS.md, "
            ".cursor/rules, .github/copilot-instructions.md, MCP server lists, ...) as one "
            "CHAINLOOP_AI_AGENT_CONFIG material per agent. A contract slot of that kind "
            "collects it without the flag.",
            show_default=False,
        ),
    ] = None,
    oidc_audience: Annotated[
        str | None,
        typer.Option(
            "--oidc-audience",
            envvar="CHAINPROOF_OIDC_AUDIENCE",
            help="Audience of the CI job's OIDC ID token, used when no API token is given "
            "(default: chainproof; must match the server's CI identity).",
            show_default=False,
        ),
    ] = None,
    policy_input: PolicyInputOpt = None,
    policy_input_from_file: PolicyInputFileOpt = None,
    allowed_hostnames: AllowedHostsOpt = None,
    state_dir: StateDirOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Start an attestation: open a run and write the state (local file, or --remote-state).

    Without --token / CHAINPROOF_TOKEN, a CI job authenticates with its OIDC ID token (GitHub
    Actions with `permissions: id-token: write`, or CHAINPROOF_ID_TOKEN, e.g. GitLab's
    id_tokens) and --org / CHAINPROOF_ORG: the server exchanges it for a short-lived token
    if an admin trusts the job (`chainproof ci-identity add`).

    Without --state-dir, CHAINPROOF_STATE_DIR or RUNNER_TEMP, the state file is in the temp
    dir, named after the CI job (e.g. GitLab's CI_JOB_ID) so that concurrent jobs on one
    machine never share it; a CI job whose id is unknown must choose a directory (exit 2).

    --policy-input replaces the value a contract gives a declared input of its policies, for
    every evaluation of the run (here, at add, and the control plane's at push); a name no
    attached policy declares is refused (exit 2). --allowed-hostnames lets policies'
    http.send reach more hosts in the CLI's own evaluations (the control plane uses the
    organisation's list: `org update --policy-allowed-hostnames`).

    Example: chainproof attestation init --workflow build --project shop --version v1.2.3

    Example: chainproof attestation init --workflow build --project shop --collectors aiconfig

    Example: chainproof attestation init --workflow build --project shop
    --policy-input vulnerabilities:severity=HIGH
    """
    from chainproof.client import attestation
    from chainproof.core.crafting_rules import COLLECTORS
    from chainproof.policy.network import parse_hostnames

    wanted = tuple(c.strip() for item in collectors or [] for c in item.split(",") if c.strip())
    unknown = [c for c in wanted if c not in COLLECTORS]
    if unknown:
        raise typer.BadParameter(
            f"unknown collector {unknown[0]!r} (known: {', '.join(COLLECTORS)})",
            param_hint="--collectors",
        )
    inputs = policy_inputs(policy_input, policy_input_from_file)
    hosts = parse_hostnames(allowed_hostnames or [])
    cli = cli_context(ctx)
    notices: dict[str, Any] = {}
    state_file = _state_file(ctx, state_dir)
    if replace:
        forget_ci_identity(cli, state_file)  # the new run may be another workflow's
    use_ci_identity(cli, state_file, None, oidc_audience)
    state = attestation.init(
        cli.api(),
        state_file=state_file,
        workflow=workflow,
        project=project,
        project_version=version,
        contract=contract,
        contract_revision=contract_revision,
        environ=cli.environ,
        cwd=Path.cwd(),
        replace=replace,
        remote=remote_state,
        collectors=wanted,
        notify=info,
        on_notices=notices.update,
        policy_inputs=inputs,
        allowed_hostnames=hosts,
    )
    if remote_state:
        info(
            f"Attestation ID: {state.run_id} (pass --attestation-id {state.run_id} or set "
            "CHAINPROOF_ATTESTATION_ID in the later steps)"
        )
    report = attestation.status(state)
    report["contract"].update(notices)
    show_status(report, output, full=False)


@app.command("add")
def add(
    ctx: typer.Context,
    value: Annotated[str, typer.Option("--value", help="File path, image reference or string.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Material name: a contract slot, or a new name (with --kind) for an extra "
            "material. Default: the first empty slot of the kind, else the file's name.",
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Evidence kind (default: the slot's, else detected)."),
    ] = None,
    annotation: AnnotationOpt = None,
    policy_input: PolicyInputOpt = None,
    policy_input_from_file: PolicyInputFileOpt = None,
    state_dir: StateDirOpt = None,
    attestation_id: AttestationIdOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Validate a piece of evidence, upload it to the CAS and record it.

    --value is a file, an https:// URL, an image reference or a string. An archive (zip,
    tar, tar.gz) given for an SBOM or SARIF material adds one material per document.

    Without --name, the kind (unless --kind) is detected from the content, strict formats
    first (an ambiguous file is refused with the candidates listed), and the material fills
    the contract's first empty slot of that kind, else is added as an extra material.

    Example: chainproof attestation add --name sbom --value sbom.cdx.json

    --policy-input here applies to this material's policies only (and wins over init's).

    Example: chainproof attestation add --value scan.sarif (detected: fills the SARIF slot)
    """
    from chainproof.client import attestation
    from chainproof.oci.images import RegistryImageResolver

    inputs = policy_inputs(policy_input, policy_input_from_file)
    api, store = _open(ctx, state_dir, attestation_id)
    policies: dict[str, list[dict[str, Any]]] = {}
    with (
        RegistryImageResolver(cli_context(ctx).environ) as images,
        transfer_progress(name or Path(value).name, enabled=output is not Output.json) as bar,
    ):
        added = attestation.add(
            api,
            store,
            name=name,
            value=value,
            kind=kind.upper() if kind else None,
            annotations=parse_annotations(annotation),
            progress=bar,
            notify=info,
            policy_report=policies.__setitem__,
            images=images,
            policy_inputs=inputs,
        )
    shown = [
        {
            **{k: v for k, v in m.to_dict().items() if k != "upload_path"},
            "policies": policies.get(m.name, []),
        }
        for m in added
    ]
    if output is Output.json:
        # The named material; an exploded archive's other documents follow in "also_added".
        emit_json({**shown[0], "also_added": shown[1:]} if len(shown) > 1 else shown[0])
    else:
        for m in added:
            typer.echo(f"Added {m.name} ({m.kind}) {m.digest}")
            show_policies(policies.get(m.name, []))


@app.command("status")
def status(
    ctx: typer.Context,
    full: Annotated[
        bool, typer.Option("--full", help="Also runner, annotations and extras.")
    ] = False,
    state_dir: StateDirOpt = None,
    attestation_id: AttestationIdOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show what the contract asks for and what is still missing.

    Example: chainproof attestation status --full
    """
    from chainproof.client import attestation

    _, store = _open(ctx, state_dir, attestation_id)
    state, _ = store.load()
    show_status(attestation.status(state), output, full=full)


@app.command("push")
def push(
    ctx: typer.Context,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", exists=True, dir_okay=False, help="Sign with this key file (default: keyless)."
        ),
    ] = None,
    key_password: Annotated[
        str | None,
        typer.Option(
            "--key-password",
            envvar=envvars("CHAINPROOF_KEY_PASSWORD", "COSIGN_PASSWORD"),
            help="Password of an encrypted --key.",
            show_default=False,
        ),
    ] = None,
    annotation: AnnotationOpt = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Also write the signed bundle here.")
    ] = None,
    exit_code_on_violation: Annotated[
        bool,
        typer.Option(
            "--exit-code-on-violation",
            help="Exit 1 when any policy found a violation, gated or advisory "
            "(the attestation is pushed and recorded either way).",
        ),
    ] = False,
    bypass: Annotated[
        bool,
        typer.Option(
            "--exception-bypass-policy-check",
            help="Push through gated policy violations; needs an owner/admin token or a robot "
            "token granted it. Recorded and audited, and the run's VSA says FAILED.",
        ),
    ] = False,
    release: Annotated[
        bool,
        typer.Option(
            "--release",
            help="Release the run's project version (its --version at init) once the push "
            "succeeded; audited.",
        ),
    ] = False,
    state_dir: StateDirOpt = None,
    attestation_id: AttestationIdOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Check the contract, sign the attestation and send it (nothing is sent if incomplete).

    The control plane verifies it and evaluates its policies again: a violation of a gated
    policy blocks the run (exit 1, violations listed; the run and its evidence are kept).

    The signed attestation is kept in the state until the server answers: if a push is
    interrupted (network error, job killed), run it again to send that same attestation.

    Example: chainproof attestation push --annotation ticket=REL-42 --bundle att.json
    """
    from chainproof.client import attestation

    api, store = _open(ctx, state_dir, attestation_id)
    run = attestation.push(
        api,
        store,
        key_path=key,
        key_password=key_password,
        annotations=parse_annotations(annotation),
        bundle_out=bundle,
        bypass_policy_check=bypass,
        notify=info,
        release=release,
    )
    if not attestation_id:
        forget_ci_identity(cli_context(ctx), _state_file(ctx, state_dir))
    link = f"{api.base_url}/api/v1/runs/{run['id']}"
    found = attestation.violations(run)
    if output is Output.json:
        emit_json({**run, "api_url": link})
    else:
        typer.echo(f"Attestation pushed: run {run['id']} ({run.get('status')})")
        typer.echo(link)
        released = run.get("project_version_release")
        if released and not released.get("prerelease"):
            typer.echo(
                f"Version {released['version']} released at {released['released_at']} "
                f"by {released['released_by']}"
            )
        if (run.get("verification") or {}).get("policy", {}).get("bypassed"):
            info("Gated policy violations were bypassed (recorded and audited):")
        if found:
            show_policies(found)
    if found and exit_code_on_violation:
        info(
            f"Error: {len(found)} policy evaluation(s) found violations (--exit-code-on-violation)"
        )
        raise typer.Exit(1)


@app.command("reset")
def reset(
    ctx: typer.Context,
    trigger: Annotated[
        Trigger, typer.Option("--trigger", help="Why the run ends.")
    ] = Trigger.failure,
    reason: Annotated[str | None, typer.Option("--reason", help="Free-text reason.")] = None,
    state_dir: StateDirOpt = None,
    attestation_id: AttestationIdOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """End the attestation in progress as failed or cancelled.

    Example: chainproof attestation reset --trigger cancellation --reason "job cancelled"
    """
    from chainproof.client import attestation

    api, store = _open(ctx, state_dir, attestation_id)
    run = attestation.reset(api, store, trigger=trigger.value, reason=reason)
    if not attestation_id:
        forget_ci_identity(cli_context(ctx), _state_file(ctx, state_dir))
    if output is Output.json:
        emit_json(run)
    else:
        typer.echo(f"Run {run['id']} marked {run.get('status')}.")
