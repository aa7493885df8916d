"""Verify a stored run locally: its bundle against the organisation's trusted root (a run
imported from Chainloop: against the Chainloop CA recorded at its import), and the signed
statement's material digests against the run's recorded materials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainproof.errors import InvalidInput, VerificationError

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient
    from chainproof.core.bundle import Bundle
    from chainproof.core.statement import Statement

__all__ = ["verify_run"]


def verify_run(api: ApiClient, run_id: str) -> dict[str, Any]:
    """Verify a stored run locally against the organisation's trusted root.

    Checks the bundle's signature, certificate chain and identity (this run's URI) and that
    the statement's material digests equal the run's recorded materials. Returns
    ``{"verified", "run_id", "identity", "checks": [{"name","ok","detail"}]}``; a failed check
    is reported, not raised.
    """
    import json

    from chainproof.core.bundle import Bundle
    from chainproof.signing.ca import identity_uri
    from chainproof.signing.trust import TrustedRoot
    from chainproof.signing.verifier import AnyOf, ExactIdentity, KeyIdentity, Verifier

    run = api.get_run(run_id)
    org = api.whoami()["org"]["name"]
    uri = _signed_identity(run, org, identity_uri(org, run["project"], run["workflow"], run["id"]))
    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "verified": False,
        "run_id": run["id"],
        "identity": uri,
        "checks": checks,
    }
    if run.get("status") != "succeeded" or not run.get("attestation_digest"):
        checks.append(
            {
                "name": "attestation",
                "ok": False,
                "detail": f"run is {run.get('status')}, no attestation stored",
            }
        )
        return report

    bundle = Bundle.from_json(json.dumps(api.get_run_bundle(run_id)))
    recorded = run.get("verification") or {}
    if recorded.get("source") == "chainloop":
        return _verify_imported(bundle, run, report)
    policy: Any = ExactIdentity(uri)
    # The whole root: its CAs, logs and timestamp authorities (a pushed bundle carries a log
    # entry and a timestamp, key-signed ones too).
    root = TrustedRoot.from_json(api.trust_root())
    if bundle.leaf_certificate_der is None:
        # Key-signed: trust exactly the keys the organisation registered.
        keys = [k["public_key"].encode() for k in api.list_signing_keys()]
        verifier = Verifier(trusted_root=root, public_keys=keys)
        policy = AnyOf(tuple(KeyIdentity.of_pem(k) for k in keys)) if keys else ExactIdentity(uri)
    else:
        verifier = Verifier(trusted_root=root)
    try:
        verified = verifier.verify(bundle, policy)
    except VerificationError as err:
        checks.append({"name": "signature", "ok": False, "detail": err.message})
        return report
    checks.append(
        {
            "name": "signature",
            "ok": True,
            "detail": f"signed by {verified.identity}, chain to the organisation CA",
        }
    )
    checks.append(_check_materials(verified.statement, run.get("materials") or []))
    report["verified"] = all(c["ok"] for c in checks)
    return report


def _verify_imported(bundle: Bundle, run: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """A run imported from Chainloop: its bundle against the Chainloop CA(s) recorded at
    import, as `chainproof verify --ca` checks it, and its materials against the record."""
    from chainproof.core.chainloop_predicate import read_predicate
    from chainproof.signing.verifier import ExactIdentity, Verifier

    recorded = run["verification"]
    checks: list[dict[str, Any]] = report["checks"]
    report["identity"] = recorded.get("identity")
    cas = [str(pem).encode() for pem in recorded.get("ca_certificates") or []]
    try:
        verified = Verifier(ca_certs=cas, chainloop=True).verify(
            bundle, ExactIdentity(str(recorded.get("identity")))
        )
    except (VerificationError, InvalidInput) as err:
        checks.append({"name": "signature", "ok": False, "detail": err.message})
        return report
    fingerprints = ", ".join(recorded.get("certificate_authorities") or [])
    checks.append(
        {
            "name": "signature",
            "ok": True,
            "detail": f"signed by {verified.identity}, chain to the Chainloop CA recorded at "
            f"import ({fingerprints})",
        }
    )
    try:
        mapped = read_predicate(verified.statement.predicate, verified.statement.subjects)
    except InvalidInput as err:
        checks.append({"name": "materials", "ok": False, "detail": err.message})
        return report
    signed = {m.name: str(m.address) for m in mapped.materials if m.address is not None}
    checks.append(_compare(signed, run.get("materials") or []))
    report["verified"] = all(c["ok"] for c in checks)
    return report


def _signed_identity(run: dict[str, Any], org: str, current: str) -> str:
    """The identity the run's certificate named: the one recorded at push when it names
    this run of this organisation (the project or workflow may have been renamed since),
    else the one today's names give."""
    recorded = (run.get("verification") or {}).get("identity")
    if (
        isinstance(recorded, str)
        and recorded.startswith(f"chainproof://{org}/")
        and recorded.endswith(f"/runs/{run['id']}")
        and recorded.count("/") == current.count("/")
    ):
        return recorded
    return current


def _check_materials(statement: Statement, recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``materials`` check: the signed material digests equal the recorded ones."""
    try:
        signed = {m.name: str(m.digest) for m in statement.materials}
    except InvalidInput as err:
        return {
            "name": "materials",
            "ok": False,
            "detail": f"the signed statement's materials cannot be read: {err.message}",
        }
    return _compare(signed, recorded)


def _compare(signed: dict[str, str], recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the signed material digests (name -> digest) equal the recorded ones."""
    stored = {str(m.get("name")): m.get("digest") for m in recorded}
    if signed == stored:
        return {
            "name": "materials",
            "ok": True,
            "detail": f"{len(signed)} material digest(s) match the signed statement",
        }
    diff = sorted(n for n in signed.keys() | stored.keys() if signed.get(n) != stored.get(n))
    return {
        "name": "materials",
        "ok": False,
        "detail": "recorded materials differ from the signed statement: " + ", ".join(diff),
    }
