"""``chainproof verify``: check a Sigstore bundle offline against a trusted root."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chainproof.cli._common import (
    Output,
    OutputOpt,
    cli_context,
    emit_json,
    print_fields,
    print_table,
)
from chainproof.errors import InvalidInput, VerificationError


def verify(
    ctx: typer.Context,
    bundle: Annotated[Path, typer.Argument(help="Sigstore bundle (JSON) to verify.")],
    artifact: Annotated[
        str | None,
        typer.Option("--artifact", help="The signed file, or sha256:HEX (a DSSE subject)."),
    ] = None,
    identity: Annotated[
        str | None,
        typer.Option("--certificate-identity", help="Expected certificate SAN (URI or e-mail)."),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option("--certificate-oidc-issuer", help="Expected OIDC issuer of the certificate."),
    ] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="PEM public key of a key-signed bundle.")
    ] = None,
    trusted_root: Annotated[
        Path | None,
        typer.Option("--trusted-root", help="Sigstore trusted_root.json to verify against."),
    ] = None,
    public_good: Annotated[
        bool, typer.Option("--public-good", help="Use Sigstore's public-good trusted root.")
    ] = False,
    ca: Annotated[
        list[Path] | None,
        typer.Option(
            "--ca",
            help="PEM CA certificate(s) to trust as Chainloop's verifier does (repeatable): "
            "for bundles signed by a Chainloop control plane.",
        ),
    ] = None,
    materials: Annotated[
        Path | None,
        typer.Option("--materials", help="Directory holding the attested materials' files."),
    ] = None,
    cas: Annotated[
        bool,
        typer.Option(
            "--cas",
            help="Download materials stored in the CAS (via CHAINPROOF_URL) and check them.",
        ),
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """Verify a Sigstore bundle offline (exit 1 naming the check that failed).

    Checks signature, certificate chain, identity, timestamps and transparency-log proof.

    --artifact: the signed file or a subject; --materials: a directory of the evidence files;
    --cas: fetch from the control plane's CAS every material not found in --materials (each
    download is hashed; nothing is kept).

    Without --trusted-root or --public-good, the organisation's root comes from CHAINPROOF_URL.

    --ca FILE: trust the CA a Chainloop bundle names (its certificate, PEM; repeatable). The
    chain is then checked as Chainloop does: at the bundle's timestamp, or at the signing
    certificate's issue time when it has none. A Chainloop predicate (chainloop.dev/
    attestation/v0.2) is shown in chainproof's words: workflow, runner, materials,
    annotations, policy evaluations.

    Example: chainproof verify run.bundle.json --materials dist/
    """
    import tempfile

    from chainproof.client.verify import (
        cas_fetcher,
        load_trusted_root,
        parse_artifact,
        verify_bundle,
    )

    if trusted_root is not None and public_good:
        raise InvalidInput("give --trusted-root or --public-good, not both")
    try:
        data = bundle.read_bytes()
        key_pem = key.read_bytes() if key is not None else None
        ca_pems = [path.read_bytes() for path in ca or []]
    except OSError as err:
        raise InvalidInput(f"cannot read {err.filename}: {err.strerror}") from None
    cli = cli_context(ctx)
    api = None
    if cas or (
        trusted_root is None and not public_good and not ca_pems and (cli.url or key_pem is None)
    ):
        api = cli.api()  # --ca alone is the trust: no organisation root is fetched for it
    if trusted_root is None and not public_good and (api is None or ca_pems):
        from chainproof.signing.trust import TrustedRoot

        root = TrustedRoot.empty()  # --key or --ca alone, no control plane
    else:
        root = load_trusted_root(path=trusted_root, public_good=public_good, api=api)
    try:
        with tempfile.TemporaryDirectory(prefix="chainproof-verify-") as scratch:
            report = verify_bundle(
                data,
                trusted_root=root,
                identity=identity,
                issuer=issuer,
                key_pem=key_pem,
                artifact=parse_artifact(artifact) if artifact else None,
                materials_dir=materials,
                cas=cas_fetcher(api, Path(scratch)) if cas and api is not None else None,
                strict_identity=public_good,
                ca_pems=ca_pems,
            )
    except VerificationError as err:
        if output is Output.json:
            emit_json({"verified": False, "error": err.message})
        raise
    if output is Output.json:
        emit_json(report)
        return
    print_fields(
        [
            ("Verified", "yes"),
            ("Kind", report["kind"]),
            ("Identity", report["identity"]),
            ("Issuer", report["issuer"]),
            ("Identity policy", report["identity_policy"]),
            ("Signed at", ", ".join(report["signed_at"] or [_untimed(report)])),
            ("Predicate", report.get("predicate_type")),
            ("Artifact", report.get("artifact")),
            ("Checks", ", ".join(report["checks"])),
        ],
        title=str(bundle),
    )
    if report.get("chainloop"):
        _print_chainloop(report["chainloop"])
    if report.get("materials"):
        print_table(
            report["materials"],
            [("Material", "name"), ("Kind", "kind"), ("Digest", "digest"), ("Result", "result")],
            title="Materials",
        )


def _print_chainloop(section: dict[str, Any]) -> None:
    """A Chainloop predicate's workflow, materials and policy evaluations, as tables."""
    workflow = section["workflow"]
    print_fields(
        [
            ("Organisation", workflow.get("org")),
            ("Project", workflow.get("project")),
            ("Version", workflow.get("projectVersion")),
            ("Workflow", workflow.get("name")),
            ("Run", workflow.get("runID")),
            ("Contract", f"{workflow.get('contractName')} rev {workflow.get('contractRevision')}"),
            ("Runner", section["runner"].get("type")),
            ("Started", section.get("started_on")),
            ("Finished", section.get("finished_on")),
            ("Annotations", ", ".join(f"{k}={v}" for k, v in section["annotations"].items())),
        ],
        title="Chainloop attestation",
    )
    if section["materials"]:
        print_table(
            section["materials"],
            [("Material", "name"), ("Kind", "kind"), ("Digest", "digest"), ("In CAS", "in_cas")],
            title="Materials",
        )
    if section["policy_evaluations"]:
        rows = [
            {**e, "result": "; ".join(e["violations"]) or ("skipped" if e["skipped"] else "ok")}
            for e in section["policy_evaluations"]
        ]
        print_table(
            rows,
            [("Policy", "name"), ("Material", "material"), ("Result", "result")],
            title="Policy evaluations (as Chainloop recorded them)",
        )


def _untimed(report: dict[str, Any]) -> str:
    return (
        f"(none: checked at the {report['time_source']})"
        if report.get("time_source")
        else "(no timestamp: checked at now)"
    )
