"""``chainproof workflow run``: list, inspect and verify workflow runs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    NextOpt,
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_page,
    print_table,
)
from chainproof.errors import VerificationError

app = typer.Typer(help="List, inspect and verify workflow runs.", no_args_is_help=True)


class RunOutput(StrEnum):
    """``-o`` of ``run describe``: also the raw statement or bundle, the VSA or provenance."""

    table = "table"
    json = "json"
    statement = "statement"
    bundle = "bundle"
    vsa = "vsa"
    slsa = "slsa"


class Status(StrEnum):
    initialized = "initialized"
    succeeded = "succeeded"
    blocked = "blocked"
    failed = "failed"
    cancelled = "cancelled"
    expired = "expired"


class PolicyResult(StrEnum):
    passed = "passed"
    violated = "violated"
    none = "none"


def point_in_time(text: str | None, flag: str) -> str | None:
    """``--since``/``--until`` as RFC 3339: a time, a date (midnight UTC) or an age."""
    if text is None:
        return None
    from datetime import UTC, datetime

    from chainproof.core import moments

    try:
        return moments.point_in_time(text, datetime.now(UTC)).isoformat()
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a time (2026-12-01T08:00:00Z), a date or an age (7d)",
            param_hint=flag,
        ) from None


COLUMNS = [
    ("ID", "id"),
    ("Project", "project"),
    ("Workflow", "workflow"),
    ("Version", "project_version"),
    ("Status", "status"),
    ("Policies", "policy_result"),
    ("Runner", "runner_type"),
    ("Created", "created_at"),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    workflow: Annotated[str | None, typer.Option("--workflow", "-w", help="Workflow name.")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project name.")] = None,
    status: Annotated[
        Status | None, typer.Option("--status", help="Only runs in this state.")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Only runs of this project version.")
    ] = None,
    runner: Annotated[
        str | None, typer.Option("--runner", help="Only runs on this runner type.")
    ] = None,
    policy: Annotated[
        PolicyResult | None,
        typer.Option("--policy", help="Only runs whose policies passed, were violated or none."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Created at or after: RFC 3339 time, date or age (7d)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Created before: RFC 3339 time, date or age (24h)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 50,
    next_page: NextOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List runs, newest first, a page of --limit at a time.

    When more runs follow, the cursor of the next page goes to stderr: a hint line for
    people, or with -o json one JSON line {"next_cursor": "..."} (stdout stays the JSON
    array of runs). Pass it back with --next and the same filters.

    Filters combine: --project, --workflow, --version, --status, --runner, --policy
    (passed, violated, none) and a creation time range --since/--until (an RFC 3339 time,
    a date, or an age such as 7d or 12h). The cursor is keyset-based: runs that arrive
    while you page neither repeat nor shift the next page.

    Example: chainproof workflow run list --project shop --status failed --since 7d -o json
    """
    items, cursor = (
        cli_context(ctx)
        .api()
        .list_runs_page(
            workflow=workflow,
            project=project,
            status=status.value if status else None,
            limit=limit,
            cursor=next_page,
            version=version,
            runner=runner,
            policy=policy.value if policy else None,
            since=point_in_time(since, "--since"),
            until=point_in_time(until, "--until"),
        )
    )
    print_page(items, cursor, output, COLUMNS, title="Runs", noun="runs")


@app.command("describe")
def describe(
    ctx: typer.Context,
    run_id: Annotated[
        str, typer.Option("--id", help="Run ID, or a unique prefix of it (4+ characters).")
    ],
    verify: Annotated[
        bool, typer.Option("--verify", help="Verify the bundle locally against the trust root.")
    ] = False,
    output: Annotated[
        RunOutput,
        typer.Option(
            "--output",
            "-o",
            help="table, json, the raw statement or bundle, the signed VSA (vsa) or SLSA "
            "Provenance v1 (slsa) bundle.",
        ),
    ] = RunOutput.table,
) -> None:
    """Show a run; --verify checks its signature and evidence digests (exit 1 if not).

    -o vsa prints the signed verification summary, -o slsa the signed SLSA Provenance v1:
    both are Sigstore bundles that `chainproof verify` checks.

    Example: chainproof workflow run describe --id 3f1c --verify -o json
    """
    api = cli_context(ctx).api()
    run_id = full_run_id(api, run_id)
    if output is RunOutput.statement:
        emit_json(api.get_run_statement(run_id))
    elif output is RunOutput.bundle:
        emit_json(api.get_run_bundle(run_id))
    elif output is RunOutput.vsa:
        emit_json(api.get_run_vsa(run_id))
    elif output is RunOutput.slsa:
        emit_json(api.get_run_provenance(run_id))
    report = None
    if verify:
        from chainproof.client.attestation import verify_run

        report = verify_run(api, run_id)
    if output in (RunOutput.table, RunOutput.json):
        run = api.get_run(run_id)
        run["policy_evaluations"] = _policy_evaluations(api, run_id)
        if output is RunOutput.json:
            emit_json({**run, "local_verification": report} if verify else run)
        else:
            _print_run(run, report)
    if report is not None and not report["verified"]:
        failed = "; ".join(c["detail"] for c in report["checks"] if not c["ok"])
        raise VerificationError(f"run {run_id} did not verify: {failed}")


def full_run_id(api: Any, run_id: str) -> str:
    """The full id of the run ``run_id`` names: itself, or the one run a prefix matches
    in the caller's organisation (the server resolves it: AmbiguousId, exit 2, lists the
    candidates; NotFound, exit 3). What cannot be a prefix is passed on as given."""
    import re
    import uuid

    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-F][0-9a-fA-F-]*", run_id):
        return str(api.get_run(run_id)["id"])
    return run_id


def _ci_identity_line(identity: dict[str, Any] | None) -> str | None:
    """``<name>: <repository or subject> @ <ref>``, verified from the job's ID token."""
    if not identity:
        return None
    claims = identity.get("claims") or {}
    who = claims.get("repository") or claims.get("project_path") or claims.get("sub")
    where = claims.get("workflow_ref") or claims.get("ref")
    return f"{identity.get('name')}: {who}" + (f" @ {where}" if where else "")


def _print_run(run: dict[str, Any], report: dict[str, Any] | None) -> None:
    verification = run.get("verification") or {}
    print_fields(
        [
            ("ID", run.get("id")),
            ("Workflow", f"{run.get('project')}/{run.get('workflow')}"),
            ("Version", run.get("project_version")),
            ("Status", run.get("status")),
            ("Reason", run.get("reason")),
            ("Runner", f"{run.get('runner_type')} {run.get('runner_url') or ''}".strip()),
            ("Contract", f"{run.get('contract_name')} rev {run.get('contract_revision')}"),
            ("Created", run.get("created_at")),
            ("Finished", run.get("finished_at")),
            ("Attestation", run.get("attestation_digest")),
            ("Server check", verification.get("verified") if verification else None),
            ("Identity", verification.get("identity") if verification else None),
            ("CI identity", _ci_identity_line(run.get("ci_identity"))),
            ("Policies", _policy_line(verification.get("policy"))),
        ],
        title="Run",
    )
    print_table(
        run.get("materials") or [],
        [
            ("Material", "name"),
            ("Kind", "kind"),
            ("Digest", "digest"),
            ("Size", "size"),
            ("Output", "output"),
        ],
        title="Materials",
    )
    if run.get("policy_evaluations"):
        print_table(
            run["policy_evaluations"],
            [
                ("Policy", "name"),
                ("Material", lambda e: e.get("materialName") or "(attestation)"),
                ("Result", _policy_result),
                ("Gate", "gate"),
                ("By", "source"),
            ],
            title="Policy evaluations",
        )
    if report is not None:
        print_table(
            report["checks"],
            [("Check", "name"), ("OK", "ok"), ("Detail", "detail")],
            title="Local verification",
        )


def _policy_line(summary: dict[str, Any] | None) -> str | None:
    if not summary:
        return None
    text = (
        f"{summary.get('evaluated', 0)} evaluated, {summary.get('violated', 0)} violated, "
        f"{summary.get('gated_violations', 0)} gated ({summary.get('strategy')})"
    )
    if summary.get("blocked"):
        text += ", blocked"
    if summary.get("bypassed"):
        text += ", bypassed"
    return text


def _policy_result(evaluation: dict[str, Any]) -> str:
    if evaluation.get("skipped"):
        return "skipped: " + "; ".join(evaluation.get("skipReasons") or [])
    violations = evaluation.get("violations") or []
    if not violations:
        return "passed"
    return "; ".join(str(v.get("message")) for v in violations)


def _policy_evaluations(api: Any, run_id: str) -> list[dict[str, Any]]:
    """The server's evaluations; none from a server older than policy enforcement."""
    from chainproof.errors import NotFound

    try:
        return list(api.get_run_policy_evaluations(run_id))
    except NotFound:
        return []
