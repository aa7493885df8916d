"""Offline bundle verification rate: chainproof's verifier against sigstore-python's.

Loads a set of Sigstore bundles with their trusted roots, identities and artifacts, cycles
them to ``--count`` (1,000) verifications, and times each library on the same list in the
same run:

- chainproof: :func:`chainproof.client.verify.verify_bundle`, the code path of
  ``chainproof verify`` (bundle parsed from its bytes each time; exact identity and issuer);
- sigstore-python: ``Bundle.from_json`` then ``Verifier(trusted_root=...).verify_dsse`` /
  ``verify_artifact`` with ``policy.Identity`` (the exact identity and issuer).

Trusted roots are parsed once per distinct root for both (each tool's verifier object lives
as long as the process, as in a long-running service); every bundle is parsed afresh.
Prints bundles/s for each and the ratio chainproof / sigstore-python. The list repeats its
bundles, and chainproof remembers successful checks per trusted root (signing._cache); with
``--distinct`` it is given a fresh root object per verification, so nothing is reused and
the figure is that of never-seen bundles.

Sources are pluggable (``--source``): ``conformance`` is the cases of
tests/conformance/sigstore-bundle-verify that sigstore-python accepts; ``dir:PATH`` reads
any directory laid out the same way (one case directory per bundle: ``bundle.sigstore.json``,
optional ``trusted_root.json``, ``identity``, ``issuer``, ``artifact``); ``pushed:N`` pushes
N runs through an in-process control plane first and verifies those N distinct bundles (each
with its own certificate, SCT, log entry and RFC 3161 timestamp), what a verifier of
chainproof's evidence meets.

    python benchmarks/bench_verify.py [--count 1000] [--source conformance|pushed:1000]
        [--repeat 3] [--distinct]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "conformance" / "sigstore-bundle-verify"
IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Case:
    """One bundle to verify: its bytes, trusted root file, signer, artifact."""

    name: str
    bundle: bytes
    root: Path
    identity: str
    issuer: str
    artifact: bytes | None


def _text(path: Path, default: str) -> str:
    return path.read_text().strip() if path.exists() else default


def dir_source(directory: Path, default_artifact: Path | None = None) -> Iterator[Case]:
    """Every case directory under ``directory`` that is not a ``_fail`` case."""
    for case in sorted(p for p in directory.iterdir() if p.is_dir()):
        if case.name.endswith("_fail") or not (case / "bundle.sigstore.json").exists():
            continue
        root = case / "trusted_root.json"
        artifact = case / "artifact"
        if not artifact.exists() and default_artifact is not None:
            artifact = default_artifact
        yield Case(
            name=case.name,
            bundle=(case / "bundle.sigstore.json").read_bytes(),
            root=root if root.exists() else _public_good(),
            identity=_text(case / "identity", IDENTITY),
            issuer=_text(case / "issuer", ISSUER),
            artifact=artifact.read_bytes() if artifact.exists() else b"",
        )


def pushed_source(count: int) -> Iterator[Case]:
    """``count`` distinct bundles pushed through an in-process control plane (SQLite), each
    with its own run, leaf certificate, SCT, log entry and RFC 3161 timestamp, as
    ``attestation push`` leaves them; all verify against the organisation's root."""
    import secrets
    import tempfile

    from bench_push_trust import Flow
    from fastapi.testclient import TestClient

    from chainproof.server.app import create_app
    from chainproof.server.bootstrap import create_org
    from chainproof.server.db.migrate import migrate
    from chainproof.server.settings import Settings

    data = Path(tempfile.mkdtemp(prefix="cp-bench-verify-"))
    settings = Settings.embedded(data, environ={}, secret_key=secrets.token_urlsafe(32))
    migrate(settings.database_url)
    app = create_app(settings, start_worker=False)
    with app.state.sessions.begin() as session:
        org, token = create_org(session, "bench")
    with TestClient(app) as client:
        flow = Flow(client, token, org["name"])
        pushed = [flow.sign_and_push(flow.init()) for _ in range(count)]
        root = data / "trusted_root.json"
        answer = client.get("/api/v1/trust/root", headers=flow.headers)
        root.write_text(answer.text)
    app.state.engine.dispose()
    for reply in pushed:
        run_id = reply["id"]
        yield Case(
            name=f"run-{run_id}",
            bundle=json.dumps(reply["bundle"]).encode(),
            root=root,
            identity=f"chainproof://{org['name']}/p/build/runs/{run_id}",
            issuer="https://chainproof.local",
            artifact=None,
        )


def _public_good() -> Path:
    """Sigstore's production root as sigstore-python ships it (what ``--public-good`` reads)."""
    from importlib import resources

    path = resources.files("sigstore._store") / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    return Path(str(path / "trusted_root.json"))


# -- sigstore-python ----------------------------------------------------------------------
def _sigstore_verifiers() -> Callable[[Case], Callable[[bytes], None]]:
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier, policy

    cache: dict[Path, Verifier] = {}

    def for_case(case: Case) -> Callable[[bytes], None]:
        if case.root not in cache:
            cache[case.root] = Verifier(trusted_root=TrustedRoot.from_file(str(case.root)))
        verifier = cache[case.root]
        identity = policy.Identity(identity=case.identity, issuer=case.issuer)

        def verify(data: bytes) -> None:
            bundle = Bundle.from_json(data)
            if bundle._dsse_envelope is not None:
                verifier.verify_dsse(bundle, identity)
            else:
                verifier.verify_artifact(case.artifact or b"", bundle, identity)

        return verify

    return for_case


def _sigstore_accepts(case: Case, make: Callable[[Case], Callable[[bytes], None]]) -> bool:
    from sigstore.errors import Error

    try:
        make(case)(case.bundle)
    except (Error, ValueError):
        return False
    return True


# -- chainproof ---------------------------------------------------------------------------
def _chainproof_verifiers(distinct: bool = False) -> Callable[[Case], Callable[[bytes], None]]:
    from chainproof.client.verify import Artifact, verify_bundle
    from chainproof.core.digest import Digest
    from chainproof.signing.trust import TrustedRoot

    cache: dict[Path, TrustedRoot] = {}

    def for_case(case: Case) -> Callable[[bytes], None]:
        if case.root not in cache:
            cache[case.root] = TrustedRoot.from_file(case.root)
        # --distinct: a new root object per verification, so no remembered check result
        # (signing._cache keeps them per root object) is reused: every bundle is new.
        root = copy.copy(cache[case.root]) if distinct else cache[case.root]
        artifact = (
            Artifact(Digest.of_bytes(case.artifact), case.artifact, "artifact")
            if case.artifact is not None
            else None
        )

        def verify(data: bytes) -> None:
            verify_bundle(
                data,
                trusted_root=root,
                identity=case.identity,
                issuer=case.issuer,
                artifact=artifact,
                strict_identity=True,
            )

        return verify

    return for_case


def load(source: str) -> list[Case]:
    """The cases of ``source`` that sigstore-python accepts (both tools get the same list)."""
    if source == "conformance":
        cases = list(dir_source(VECTORS, VECTORS / "a.txt"))
    elif source.startswith("dir:"):
        cases = list(dir_source(Path(source[4:])))
    elif source.startswith("pushed:"):
        cases = list(pushed_source(int(source[7:])))
    else:
        raise SystemExit(f"unknown source {source!r}: conformance, dir:PATH or pushed:N")
    make = _sigstore_verifiers()
    return [c for c in cases if _sigstore_accepts(c, make)]


def rate(make: Callable[[Case], Callable[[bytes], None]], work: list[Case]) -> float:
    """Bundles per second over ``work`` (verifier set-up per root happens before timing)."""
    calls = [(make(c), c.bundle) for c in work]
    start = time.perf_counter()
    for verify, data in calls:
        verify(data)
    return len(calls) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--source", default="conformance")
    parser.add_argument("--repeat", type=int, default=3, help="best of N rounds each")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="chainproof remembers nothing between verifications (as if all were new)",
    )
    args = parser.parse_args()

    cases = load(args.source)
    if not cases:
        raise SystemExit("no bundle of the source verifies with sigstore-python")
    work = list(itertools.islice(itertools.cycle(cases), args.count))
    chainproof_make = _chainproof_verifiers(args.distinct)
    sigstore_make = _sigstore_verifiers()
    # Both must accept every bundle before anything is timed.
    for case in cases:
        chainproof_make(case)(case.bundle)
    ours = max(rate(chainproof_make, work) for _ in range(args.repeat))
    theirs = max(rate(sigstore_make, work) for _ in range(args.repeat))
    names = ", ".join(c.name for c in cases) if len(cases) <= 20 else "(pushed runs)"
    print(f"source: {args.source}, {len(cases)} distinct bundles: {names}")
    mode = "every bundle treated as new" if args.distinct else "repeats remembered"
    print(f"verifications per round: {len(work)} (best of {args.repeat}); chainproof: {mode}")
    print(f"chainproof      {ours:8.0f} bundles/s")
    print(f"sigstore-python {theirs:8.0f} bundles/s")
    print(f"ratio           {ours / theirs:8.2f}x")


if __name__ == "__main__":
    main()
