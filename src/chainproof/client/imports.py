"""``chainproof import chainloop``: bring a Chainloop export into the organisation.

The export layout (docs/migrating-from-chainloop.md, "Importing Chainloop's attestations"):
a directory of Sigstore bundles (``bundles/*.json``, or ``*.json`` at its top) and a
directory of CAS blobs (``cas/``, or ``--cas-dir``) whose files are found by the SHA-256 of
their bytes, whatever they are called. Each bundle is verified here first (no upload for a
bundle that does not verify), its materials' blobs are uploaded (run-less CAS uploads,
skipped when the CAS has them), then the control plane verifies it again and records the
run. Re-running the import uploads nothing twice and records nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.core.digest import Digest
from chainproof.errors import CheckFailed, Conflict, InvalidInput, VerificationError

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient

__all__ = ["ImportReport", "find_blobs", "find_bundles", "import_export"]

#: Called with (position, total, row) after each bundle.
Progress = Callable[[int, int, dict[str, Any]], None]


@dataclass
class ImportReport:
    """One row per bundle (``status``: imported, already imported, failed) and the totals."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.count("imported"),
            "already_imported": self.count("already imported"),
            "failed": self.count("failed"),
            "uploaded_blobs": sum(r.get("uploaded", 0) for r in self.rows),
            "bundles": self.rows,
        }


def find_bundles(root: Path) -> list[Path]:
    """The bundles of an export: ``root/bundles/*.json``, else ``root/*.json``, sorted."""
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a directory", hint="give the export's directory")
    where = root / "bundles" if (root / "bundles").is_dir() else root
    found = sorted(p for p in where.glob("*.json") if p.is_file())
    if not found:
        raise InvalidInput(f"no bundle (*.json) in {where}")
    return found


def find_blobs(cas_dir: Path | None) -> dict[str, Path]:
    """sha256 hex -> file, for every regular file under ``cas_dir`` (hashed, not named)."""
    if cas_dir is None or not cas_dir.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(cas_dir.rglob("*")):
        if path.is_file() and not path.is_symlink():
            sha = hashlib.sha256()
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    sha.update(chunk)
            found.setdefault(sha.hexdigest(), path)
    return found


def import_export(
    api: ApiClient,
    bundles: Sequence[Path],
    blobs: dict[str, Path],
    ca_pems: Sequence[bytes],
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Verify, upload and record each bundle; a failed bundle is reported, not fatal.

    What is about one bundle (it does not verify, is malformed, clashes with the
    organisation's state) fails that bundle; anything else (no permission, the server or
    network down) stops the import and is raised: running it again resumes, since nothing
    is recorded twice.
    """
    report = ImportReport()
    for position, path in enumerate(bundles, 1):
        row: dict[str, Any] = {"bundle": path.name}
        try:
            row.update(_one(api, path, blobs, ca_pems))
        except (CheckFailed, InvalidInput, Conflict) as err:
            row.update(status="failed", error=err.message)
        report.rows.append(row)
        if progress is not None:
            progress(position, len(bundles), row)
    return report


def _one(
    api: ApiClient, path: Path, blobs: dict[str, Path], ca_pems: Sequence[bytes]
) -> dict[str, Any]:
    from chainproof.client.verify import verify_bundle
    from chainproof.signing.trust import TrustedRoot

    try:
        data = path.read_bytes()
        bundle = json.loads(data)
    except (OSError, ValueError) as err:
        raise InvalidInput(f"cannot read {path.name}: {err}") from None
    verified = verify_bundle(data, trusted_root=TrustedRoot.empty(), ca_pems=ca_pems)
    section = verified.get("chainloop")
    if section is None:
        raise VerificationError(
            f"payload check failed: {path.name} is not a Chainloop attestation "
            f"({verified.get('predicate_type')})"
        )
    wanted = [m["digest"] for m in section["materials"] if m["in_cas"] and m["digest"]]
    uploaded, missing = _upload(api, wanted, blobs)
    answer = api.import_chainloop(bundle, [pem.decode() for pem in ca_pems])
    run = answer["run"]
    return {
        "status": "imported" if answer["created"] else "already imported",
        "run_id": run["id"],
        "project": run["project"],
        "workflow": run["workflow"],
        "materials": len(answer["materials"]),
        "uploaded": uploaded,
        "missing_blobs": missing,
    }


def _upload(api: ApiClient, digests: list[str], blobs: dict[str, Path]) -> tuple[int, list[str]]:
    """Upload the blobs the export holds (run-less); how many were sent, and which digests
    the export lacks (those materials are recorded as not uploaded)."""
    from chainproof.client import cas

    present = [d for d in digests if Digest.parse(d).hex in blobs]
    missing = [d for d in digests if Digest.parse(d).hex not in blobs]
    sent = 0
    if present:
        grant = api.cas_upload_token()
        for digest in present:
            path = blobs[Digest.parse(digest).hex]
            sent += cas.upload(grant["url"], grant["token"], path, digest, api=api)
    return sent, missing
