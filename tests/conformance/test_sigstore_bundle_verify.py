"""Sigstore's public bundle-verification vectors, run through `chainproof verify`, offline.

Every case directory of ``sigstore-bundle-verify/`` (README.md there: source and license;
CASES.md: how to read a case) is verified with :func:`chainproof.client.verify.verify_bundle`,
the function behind the CLI command; a handful also go through the installed CLI. A ``_fail``
case must be rejected, and :data:`FAILED_CHECK` says which check must reject it (the
message names it); every other case must verify. Exceptions: none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainproof.client.verify import Artifact, verify_bundle
from chainproof.core.digest import Digest
from chainproof.errors import ChainproofError, InvalidInput
from chainproof.signing.trust import TrustedRoot

VECTORS = Path(__file__).parent / "sigstore-bundle-verify"
CASES = sorted(p.name for p in VECTORS.iterdir() if p.is_dir())
IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ISSUER = "https://token.actions.githubusercontent.com"
CLI = shutil.which("chainproof", path=str(Path(sys.executable).parent)) or "chainproof"

# Which check rejects each `_fail` case: the start of the error message.
FAILED_CHECK = {
    "bundle-empty-certificate-chain_fail": "bundle check failed",
    "bundle-from-wrong-instance_fail": "transparency log check failed",  # unknown log
    "bundle-invalid-base64-signature_fail": "bundle check failed",
    "bundle-malformed-json_fail": "bundle check failed",
    "bundle-negative-log-index_fail": "transparency log check failed",
    "bundle-unknown-version_fail": "bundle check failed",
    # Signed by another identity; the root certificate it carries is never trusted anyway.
    "bundle-with-root-cert_fail": "identity check failed",
    "checkpoint-bad-keyhint_fail": "checkpoint check failed",
    "checkpoint-wrong-roothash_fail": "checkpoint check failed",
    "dsse-invalid-sig_fail": "signature check failed",
    "dsse-mismatch-envelope_fail": "log entry consistency check failed",
    "dsse-mismatch-sig_fail": "log entry consistency check failed",
    "inclusion-proof-corrupted-hash_fail": "inclusion proof check failed",
    # The logged body holds another key, so the body's leaf is not the one proven.
    "incorrect-public-key_fail": "inclusion proof check failed",
    # Logged after the certificate expired (the vector's "future" is now in the past).
    "integrated-time-in-future_fail": "certificate validity check failed",
    "intoto-expired-certificate_fail": "certificate validity check failed",
    "intoto-log-entry-mismatch_fail": "log entry consistency check failed",
    "intoto-missing-inclusion-proof_fail": "transparency log check failed",
    "intoto-set-outside-signing-cert-validity_fail": "certificate validity check failed",
    "intoto-tsa-timestamp-outside-cert-validity_fail": "certificate validity check failed",
    "invalid-checkpoint-signature_fail": "checkpoint check failed",
    "invalid-ct-key_fail": "SCT check failed",
    "invalid-inclusion-proof_fail": "inclusion proof check failed",
    "managed-key-no-key_fail": "key check failed",
    "managed-key-wrong-key_fail": "not a PEM public key",  # the case's key.pub is corrupt
    "message-digest-mismatch_fail": "artifact check failed",
    "rekor2-checkpoint-missing-log-signature_fail": "checkpoint check failed",
    "rekor2-checkpoint-missing-origin_fail": "checkpoint check failed",
    "rekor2-checkpoint-missing-root-hash_fail": "checkpoint check failed",
    "rekor2-checkpoint-missing-size_fail": "checkpoint check failed",
    "rekor2-checkpoint-no-matching-signature_fail": "checkpoint check failed",
    "rekor2-dsse-invalid-sig_fail": "signature check failed",
    "rekor2-dsse-mismatch-envelope_fail": "log entry consistency check failed",
    "rekor2-dsse-mismatch-sig_fail": "log entry consistency check failed",
    "rekor2-no-inclusion-proof_fail": "transparency log check failed",
    "rekor2-no-timestamp_fail": "timestamp check failed",
    "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "timestamp check failed",
    "rekor2-timestamp-outside-tsa-cert-validity_fail": "timestamp check failed",
    "rekor2-timestamp-payload-mismatch_fail": "timestamp check failed",
    # rfc3161-client refuses this response's non-DER certificate SET before any trust check.
    "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "timestamp check failed",
    "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "timestamp check failed",
    "rekor2-timestamp-with-incorrect-time_fail": "certificate validity check failed",
    "set-invalid-signature_fail": "signed entry timestamp check failed",
    "signature-mismatch_fail": "signature check failed",
    "trust-root-tlog-missing-validity-start_fail": "transparency log check failed",
    "wrong-hashedrekord-artifact_fail": "log entry consistency check failed",
    "wrong-hashedrekord-cert-and-sig_fail": "log entry consistency check failed",
    "wrong-hashedrekord-entry_fail": "log entry consistency check failed",
    "wrong-material_fail": "artifact check failed",
}

# No exceptions: chainproof gives the expected verdict on every case, and every case runs.


@pytest.fixture(scope="module")
def public_good() -> TrustedRoot:
    return TrustedRoot.public_good()


def _read(case: Path, name: str, default: str) -> str:
    path = case / name
    return path.read_text().strip() if path.exists() else default


def _verify(name: str, public_good: TrustedRoot) -> dict[str, object]:
    case = VECTORS / name
    root_file = case / "trusted_root.json"
    root = TrustedRoot.from_file(root_file) if root_file.exists() else public_good
    artifact_file = case / "artifact" if (case / "artifact").exists() else VECTORS / "a.txt"
    data = artifact_file.read_bytes()
    key = case / "key.pub"
    return verify_bundle(
        (case / "bundle.sigstore.json").read_bytes(),
        trusted_root=root,
        identity=_read(case, "identity", IDENTITY),
        issuer=_read(case, "issuer", ISSUER),
        key_pem=key.read_bytes() if key.exists() else None,
        artifact=Artifact(Digest.of_bytes(data), data, artifact_file.name),
        strict_identity=True,
    )


def test_every_fail_case_names_its_check() -> None:
    assert sorted(FAILED_CHECK) == [c for c in CASES if c.endswith("_fail")]
    assert len(CASES) == 70


@pytest.mark.parametrize("name", CASES)
def test_case(name: str, public_good: TrustedRoot) -> None:
    if name.endswith("_fail"):
        with pytest.raises(ChainproofError) as caught:
            _verify(name, public_good)
        assert caught.value.message.startswith(FAILED_CHECK[name]), caught.value.message
        if not isinstance(caught.value, InvalidInput):
            assert caught.value.exit_code == 1
    else:
        report = _verify(name, public_good)
        assert report["verified"] is True
        assert "signature" in report["checks"]  # type: ignore[operator]
        assert "transparency log" in report["checks"]  # type: ignore[operator]


def _cli(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    case = VECTORS / name
    args = [CLI, "verify", str(case / "bundle.sigstore.json"), "-o", "json"]
    if (case / "trusted_root.json").exists():
        args += ["--trusted-root", str(case / "trusted_root.json")]
    else:
        args += ["--public-good"]
    artifact = case / "artifact" if (case / "artifact").exists() else VECTORS / "a.txt"
    args += ["--artifact", str(artifact)]
    if (case / "key.pub").exists():
        args += ["--key", str(case / "key.pub")]
    else:
        args += ["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER]
    args += extra  # given last, so an option here overrides the one above
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(case)}  # no CHAINPROOF_URL
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.mark.parametrize(
    "name",
    [
        "happy-path-v0.1",
        "happy-path-intoto-in-dsse-v3",
        "rekor2-dsse-happy-path",
        "intoto-with-custom-trust-root",
        "managed-key-happy-path",
    ],
)
def test_installed_cli_accepts(name: str) -> None:
    proc = _cli(name)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verified"] is True


@pytest.mark.parametrize(
    "name",
    [
        "signature-mismatch_fail",
        "checkpoint-wrong-roothash_fail",
        "rekor2-no-timestamp_fail",
        "intoto-expired-certificate_fail",
        "bundle-malformed-json_fail",
    ],
)
def test_installed_cli_rejects(name: str) -> None:
    proc = _cli(name)
    assert proc.returncode == 1, proc.stderr
    # -o json: the verdict on stdout, the error as the JSON error document on stderr
    error = json.loads(proc.stderr)["error"]
    assert error["code"] == "verification_failed"
    assert error["message"].startswith(FAILED_CHECK[name])
    assert json.loads(proc.stdout) == {"verified": False, "error": error["message"]}


def test_installed_cli_refuses_the_wrong_identity() -> None:
    proc = _cli(
        "happy-path-v0.3",
        "--certificate-identity",
        "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main",
    )
    assert proc.returncode == 1
    assert "identity check failed" in proc.stderr


def _timestamped_cases() -> list[str]:
    found = []
    for name in CASES:
        try:
            bundle = json.loads((VECTORS / name / "bundle.sigstore.json").read_text())
        except ValueError:
            continue
        material = bundle.get("verificationMaterial") or {}
        if (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps"):
            found.append(name)
    return found


@pytest.mark.parametrize("name", _timestamped_cases())
def test_timestamp_fast_path_agrees_with_rfc3161_client(
    name: str, public_good: TrustedRoot
) -> None:
    """signing.timestamp's own use of rfc3161-client's CMS core gives the verdict and the
    time that rfc3161-client's public Verifier gives, on every vector with timestamps."""
    from chainproof.core.bundle import Bundle
    from chainproof.core.dsse import b64decode
    from chainproof.signing.timestamp import verify_timestamps

    case = VECTORS / name
    root_file = case / "trusted_root.json"
    root = TrustedRoot.from_file(root_file) if root_file.exists() else public_good
    bundle = Bundle.from_json(
        (case / "bundle.sigstore.json").read_bytes(), allow_message_signature=True
    )
    stamps = [b64decode(t["signedTimestamp"], "timestamp") for t in bundle.rfc3161_timestamps]

    def outcome(fast: bool) -> object:
        try:
            return verify_timestamps(stamps, bundle.signature, root, fast=fast)
        except ChainproofError as err:
            return err.message

    assert outcome(True) == outcome(False)
