"""Options and output of ``chainproof attestation`` shared by its commands: runtime policy
inputs, the http.send allow-list, and how policy results and the status are shown."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chainproof.cli._common import Output, emit_json, info, print_fields, print_table

PolicyInputOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy-input",
        help="Replace a declared input of the contract's policies: NAME=VALUE (every policy "
        "declaring NAME) or POLICY:NAME=VALUE (that policy only); repeat for more. Recorded "
        "in the attestation; the control plane evaluates with it too.",
        show_default=False,
    ),
]
PolicyInputFileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy-input-from-file",
        help="Chainloop's [POLICY:]NAME=FILE[:COLUMN]: the values of a CSV column or JSON "
        "field (COLUMN defaults to NAME) added to the contract's value of NAME; or the path "
        "of a YAML or JSON map of inputs (NAME: VALUE, POLICY:NAME: VALUE, POLICY: {NAME: "
        "VALUE}), which replace like --policy-input. Repeatable.",
        show_default=False,
    ),
]


AllowedHostsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-hostnames",
        help="Hosts policies' http.send may reach when the CLI evaluates, besides the "
        "organisation's (comma-separated or repeated); the control plane uses the "
        "organisation's only.",
        show_default=False,
    ),
]


def policy_inputs(values: list[str] | None, files: list[str] | None) -> list[Any]:
    """The runtime inputs given: the files' first, then --policy-input (later ones win);
    InvalidInput (exit 2) for a malformed one, before anything is sent."""
    from chainproof.policy.runtime import parse_input_file_option, parse_policy_input

    out = [item for spec in files or [] for item in parse_input_file_option(spec)]
    return out + [parse_policy_input(v) for v in values or []]


def show_policies(evaluations: list[dict[str, Any]]) -> None:
    """One line per policy evaluated on a material, then its violations (stderr)."""
    for e in evaluations:
        if e["skipped"]:
            info(f"  policy {e['name']}: skipped ({'; '.join(e['skipReasons']) or 'no reason'})")
        elif not e["violations"]:
            info(f"  policy {e['name']}: passed")
        else:
            info(f"  policy {e['name']}: {len(e['violations'])} violation(s)")
            for v in e["violations"]:
                info(f"    - {v['message']}")


def show_status(report: dict[str, Any], output: Output, *, full: bool) -> None:
    if output is Output.json:
        emit_json(report)
        return
    wf = report["workflow"]
    contract = report["contract"]
    rows: list[tuple[str, Any]] = [
        ("Run", report["run_id"]),
        ("Workflow", f"{wf.get('project')}/{wf.get('name')}"),
        ("Version", wf.get("project_version")),
        ("Contract", f"{contract['name']} rev {contract['revision']}"),
        ("Runner", report["runner"]["type"]),
    ]
    if full:
        rows += [
            ("Runner URL", report["runner"]["url"]),
            ("Started", report["started_on"]),
            ("Server", report["server_url"]),
        ]
    print_fields(rows, title="Attestation")
    print_table(
        report["materials"],
        [
            ("Material", "name"),
            ("Kind", "kind"),
            ("Required", "required"),
            ("Added", "added"),
            ("Digest", "digest"),
        ],
        title="Contract materials",
    )
    if full:
        print_table(
            report["extra_materials"],
            [("Material", "name"), ("Kind", "kind"), ("Digest", "digest")],
            title="Extra materials",
        )
        print_table(
            report["annotations"],
            [("Annotation", "name"), ("Value", "value"), ("Required", "required")],
            title="Annotations",
        )
    missing = report["missing"]
    typer.echo(f"Missing: {', '.join(missing)}" if missing else "Ready to push.")
