"""OciBackend against a real OCI registry: Debian's docker-registry (distribution 2.8) on loopback.

The ``registry`` session fixture serves most tests; ``registry_storage`` is a second registry
whose storage directory the corruption tests damage; ``token_registry`` sits behind the Docker
token flow (tests/registry_auth.py). Transient faults are injected by a transport that wraps
the real one (it still talks to the real registry). The Backend contract runs on OCI too, in
test_backend_contract.py; this module tests what is OCI's own. Interop: blobs that chainproof
uploads are pulled by the ``oras`` Python client (PyPI ``oras``, test extra), and one oras
pushed is read back.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import subprocess
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import oras.client
import pytest
from tests.registry import _free_port, push_blob, start_registry

from chainproof.cas.oci import ARTIFACT_TYPE, OciBackend, evidence_tag
from chainproof.core.digest import Digest
from chainproof.errors import (
    InvalidInput,
    NetworkError,
    NotFound,
    Unauthorized,
    VerificationError,
)
from chainproof.oci.registry import Credentials

MiB = 1024 * 1024
DATA = b"chainproof evidence\n" * 5000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _pseudo_random(size: int, seed: int = 0) -> Iterator[bytes]:
    """``size`` incompressible bytes in 1 MiB chunks, made as they are asked for."""
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    for i in range(0, size, MiB):
        # every chunk differs (its offset leads it), so a misplaced chunk changes the digest
        yield (i.to_bytes(8, "big") + block[8:])[: min(MiB, size - i)]


def _digest_of(chunks: Iterator[bytes]) -> Digest:
    return Digest.of_chunks(chunks)[0]


def _repo(host: str) -> str:
    return f"{host}/chainproof/t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def backend(oci_repository: str) -> Iterator[OciBackend]:
    with OciBackend(
        oci_repository, chunk_size=1 * MiB, monolithic_max=2 * MiB, backoff=0.01
    ) as impl:
        yield impl


@pytest.fixture
def oci() -> Iterator[Callable[..., OciBackend]]:
    """Makes OciBackends like the constructor does, and closes them all at teardown (each
    holds a pool of connections: left open, its sockets warn when collected later)."""
    with contextlib.ExitStack() as stack:
        yield lambda *args, **kw: stack.enter_context(OciBackend(*args, **kw))


@contextlib.contextmanager
def _oras(registry: str) -> Iterator[oras.client.OrasClient]:
    """An oras client on the test registry; its requests session is closed afterwards."""
    client = oras.client.OrasClient(hostname=registry, insecure=True)
    try:
        yield client
    finally:
        client.session.close()


def _raw(backend: OciBackend, method: str, path: str, **kw: object) -> httpx.Response:
    """A request behind the backend's back, to see what the registry really holds."""
    url = f"http://{backend.host}/v2/{backend.path}/{path}"
    return httpx.request(method, url, **kw)  # type: ignore[arg-type]


def _invisible(backend: OciBackend, digest: Digest) -> None:
    assert backend.exists(digest) is None
    assert _raw(backend, "HEAD", f"blobs/{digest}").status_code == 404
    assert _raw(backend, "HEAD", f"manifests/{evidence_tag(digest)}").status_code == 404


@pytest.mark.parametrize("size", [0, 1, 1000, 2 * MiB, 2 * MiB + 1, 5 * MiB + 7])
@pytest.mark.parametrize("announced", [True, False], ids=["size", "no-size"])
def test_round_trip(backend: OciBackend, size: int, announced: bool) -> None:
    """Monolithic up to monolithic_max (2 MiB here), chunked above; size announced or not."""
    data = b"".join(_pseudo_random(size, seed=size))
    digest = Digest.of_bytes(data)
    assert backend.exists(digest) is None
    written = backend.put(digest, _chunks(data, 300_000), size=size if announced else None)
    assert written == size
    assert backend.exists(digest) == size
    assert b"".join(backend.open(digest)) == data
    backend.delete(digest)
    _invisible(backend, digest)
    backend.delete(digest)  # absent: no error


def test_evidence_manifest_references_the_blob(backend: OciBackend) -> None:
    digest = Digest.of_bytes(DATA)
    backend.put(digest, [DATA])
    answer = _raw(
        backend, "GET", f"manifests/{evidence_tag(digest)}", headers={"Accept": OCI_MANIFEST}
    )
    assert answer.status_code == 200
    manifest = answer.json()
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["artifactType"] == ARTIFACT_TYPE == "application/vnd.chainproof.evidence.v1"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert [(layer["digest"], layer["size"]) for layer in manifest["layers"]] == [
        (str(digest), len(DATA))
    ]
    assert evidence_tag(digest) == f"sha256-{digest.hex}.evidence"


def test_blob_without_its_manifest_does_not_count(backend: OciBackend) -> None:
    """A blob whose upload died before the manifest is unprotected from GC: upload it again."""
    digest = Digest.of_bytes(DATA)
    backend.put(digest, [DATA])
    tagged = _raw(
        backend, "HEAD", f"manifests/{evidence_tag(digest)}", headers={"Accept": OCI_MANIFEST}
    )
    gone = _raw(backend, "DELETE", f"manifests/{tagged.headers['Docker-Content-Digest']}")
    assert gone.status_code == 202
    assert backend.exists(digest) is None
    backend.put(digest, [DATA])
    assert backend.exists(digest) == len(DATA)


def test_missing_blob(backend: OciBackend) -> None:
    digest = Digest.of_bytes(b"never stored")
    assert backend.exists(digest) is None
    with pytest.raises(NotFound, match="not found in OCI registry"):
        backend.open(digest)


@pytest.mark.parametrize("size", [100, 3 * MiB], ids=["monolithic", "chunked"])
@pytest.mark.parametrize("announced", [True, False], ids=["size", "no-size"])
def test_digest_mismatch_leaves_no_blob_in_the_registry(
    backend: OciBackend, size: int, announced: bool
) -> None:
    claimed = Digest.of_bytes(b"the claimed bytes")
    other = b"".join(_pseudo_random(size, seed=7))
    with pytest.raises(VerificationError, match=str(claimed)):
        backend.put(claimed, _chunks(other), size=size if announced else None)
    _invisible(backend, claimed)


def test_mismatch_does_not_touch_an_existing_blob(backend: OciBackend) -> None:
    digest = Digest.of_bytes(DATA)
    backend.put(digest, [DATA])
    with pytest.raises(VerificationError):
        backend.put(digest, [b"x" * len(DATA)], size=len(DATA))
    assert b"".join(backend.open(digest)) == DATA


@pytest.mark.parametrize("size", [100, 3 * MiB], ids=["monolithic", "chunked"])
def test_stream_of_other_size_than_announced(backend: OciBackend, size: int) -> None:
    data = b"".join(_pseudo_random(size))
    digest = Digest.of_bytes(data)
    with pytest.raises(VerificationError, match="shorter"):
        backend.put(digest, [data[:-1]], size=size)
    with pytest.raises(VerificationError, match="longer"):
        backend.put(Digest.of_bytes(data[:-1]), [data], size=size - 1)
    _invisible(backend, digest)
    _invisible(backend, Digest.of_bytes(data[:-1]))


def test_stream_raising_an_httpx_error_is_not_retried(backend: OciBackend) -> None:
    """The source may itself be a download: its httpx errors are the caller's, not ours."""

    def relay() -> Iterator[bytes]:
        yield b"partial"
        raise httpx.ReadError("upstream went away")

    digest = Digest.of_bytes(DATA)
    with pytest.raises(httpx.ReadError, match="upstream"):
        backend.put(digest, relay())
    _invisible(backend, digest)


def test_large_blob_streams_in_bounded_memory(
    registry: str, oci: Callable[..., OciBackend]
) -> None:
    """64 MiB from a generator, size announced (chunked PATCH) and not; memory stays bounded."""
    size = 64 * MiB
    backend = oci(_repo(registry))  # defaults: 16 MiB chunks, 32 MiB monolithic limit
    digest = _digest_of(_pseudo_random(size, seed=64))
    tracemalloc.start()
    try:
        assert backend.put(digest, _pseudo_random(size, seed=64), size=size) == size
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        got, received = hashlib.sha256(), 0
        for piece in backend.open(digest):
            got.update(piece)
            received += len(piece)
        _, download_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        backend.delete(digest)
        assert backend.put(digest, _pseudo_random(size, seed=64)) == size
        _, unannounced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (received, got.hexdigest()) == (size, digest.hex)
    assert upload_peak < 24 * MiB, upload_peak  # one 16 MiB chunk kept for resending
    assert download_peak < 4 * MiB, download_peak
    assert unannounced_peak < 56 * MiB, unannounced_peak  # 32 MiB look-ahead + one chunk
    assert backend.exists(digest) == size


# -- corruption in the registry's storage ---------------------------------------------------


def _data_file(storage: Path, digest: Digest) -> Path:
    path = storage / "docker/registry/v2/blobs" / digest.algorithm / digest.hex[:2] / digest.hex
    return path / "data"


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend"])
def test_corrupt_stored_blob_is_detected(
    registry_storage: tuple[str, Path], damage: str, oci: Callable[..., OciBackend]
) -> None:
    host, storage = registry_storage
    backend = oci(_repo(host), backoff=0.01)
    data = b"".join(_pseudo_random(3 * MiB, seed=len(damage)))
    digest = Digest.of_bytes(data)
    backend.put(digest, _chunks(data))
    blob = _data_file(storage, digest)
    assert blob.read_bytes() == data
    bad = {
        "flip": data[:1000] + bytes([data[1000] ^ 1]) + data[1001:],
        "truncate": data[:-10],
        "extend": data + b"appended",
    }[damage]
    blob.write_bytes(bad)
    received = bytearray()
    with pytest.raises(VerificationError, match=f"blob {digest} from OCI registry .* is corrupt"):
        for piece in backend.open(digest):
            received += piece
    assert len(received) < len(bad)  # the last piece is held back: never the whole wrong blob


# -- interop ------------------------------------------------------------------------------


def test_oras_pulls_what_chainproof_pushed(
    registry: str, tmp_path: Path, oci: Callable[..., OciBackend]
) -> None:
    backend = oci(_repo(registry))
    data = b"".join(_pseudo_random(3 * MiB, seed=3))
    digest = Digest.of_bytes(data)
    backend.put(digest, _chunks(data))
    with _oras(registry) as client:
        by_digest = client.download_blob(backend.repository, str(digest), str(tmp_path / "blob"))
        pulled = client.pull(
            target=f"{backend.repository}:{evidence_tag(digest)}", outdir=str(tmp_path / "pull")
        )
    assert Path(by_digest).read_bytes() == data
    assert [Path(p).read_bytes() for p in pulled] == [data]


def test_oras_pushed_blob_reads_back(
    registry: str, tmp_path: Path, oci: Callable[..., OciBackend]
) -> None:
    """The other way: a file pushed by oras is readable (and verified) by chainproof."""
    backend = oci(_repo(registry))
    (tmp_path / "evidence.json").write_bytes(DATA)
    with _oras(registry) as client:
        client.push(
            target=f"{backend.repository}:v1",
            files=[str(tmp_path / "evidence.json")],
            disable_path_validation=True,
        )
    assert b"".join(backend.open(Digest.of_bytes(DATA))) == DATA


# -- registry down and transient faults -----------------------------------------------------


def test_registry_down_names_the_registry(oci: Callable[..., OciBackend]) -> None:
    port = _free_port()
    down = oci(f"127.0.0.1:{port}/chainproof/cas", retries=2, backoff=0.01)
    digest = Digest.of_bytes(DATA)
    for call in (
        lambda: down.exists(digest),
        lambda: down.open(digest),
        lambda: down.put(digest, [DATA]),
        lambda: down.delete(digest),
        down.validate,
    ):
        with pytest.raises(NetworkError) as info:
            call()
        err = info.value
        assert f"OCI registry 127.0.0.1:{port}/chainproof/cas is unavailable" in str(err)
        assert "failed 3 times (ConnectError)" in str(err)
        assert f"127.0.0.1:{port}" in err.diagnostics()
        assert err.details == {"backend": "oci", "endpoint": f"127.0.0.1:{port}"}


class Faults(httpx.BaseTransport):
    """The real transport, with one-shot faults for requests that match (method, path part).

    - ``refuse``: read the request, then fail as if the connection dropped (nothing applied);
    - ``lose``: forward the request, then lose the answer (applied, not acknowledged);
    - ``503``: answer 503 without forwarding;
    - ``cut``: forward, then break the response body after 1 MiB.
    """

    def __init__(self, *faults: tuple[str, str, str], skip: int = 0) -> None:
        self.inner = httpx.HTTPTransport()
        self.faults = list(faults)
        self.skip = skip  # matching requests to let through before the first fault
        self.log: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path}")
        for fault in self.faults:
            method, part, action = fault
            if request.method == method and part in request.url.path:
                if self.skip:
                    self.skip -= 1
                    continue
                self.faults.remove(fault)
                break
        else:
            return self.inner.handle_request(request)
        if action == "503":
            request.read()
            return httpx.Response(503, headers={"Retry-After": "0"})
        if action == "refuse":
            request.read()
            raise httpx.WriteError("connection reset while sending", request=request)
        response = self.inner.handle_request(request)
        if action == "lose":
            response.read()
            response.close()
            raise httpx.ReadTimeout("answer lost", request=request)
        assert action == "cut"
        return httpx.Response(
            response.status_code, headers=response.headers, stream=_Cut(response), request=request
        )

    def close(self) -> None:
        self.inner.close()


class _Cut(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for piece in self.response.stream:
            yield piece
            sent += len(piece)
            if sent >= MiB:
                raise httpx.ReadError("connection reset mid-download")

    def close(self) -> None:
        self.response.close()


@pytest.mark.parametrize(
    "fault",
    [
        ("PATCH", "/blobs/uploads/", "refuse"),
        ("PATCH", "/blobs/uploads/", "lose"),
        ("PATCH", "/blobs/uploads/", "503"),
        ("PUT", "/blobs/uploads/", "lose"),  # the commit: applied, answer lost
        ("PUT", "/blobs/uploads/", "refuse"),
        ("POST", "/blobs/uploads/", "503"),
        ("PUT", "/manifests/", "503"),
        ("HEAD", "/blobs/", "refuse"),
    ],
    ids=lambda f: "-".join(f).replace("/", ""),
)
@pytest.mark.parametrize("size", [100_000, 3 * MiB + 5], ids=["monolithic", "chunked"])
def test_transient_upload_faults_are_retried(
    registry: str, fault: tuple[str, str, str], size: int, oci: Callable[..., OciBackend]
) -> None:
    faults = Faults(fault)
    backend = oci(
        _repo(registry), chunk_size=MiB, monolithic_max=2 * MiB, backoff=0.01, transport=faults
    )
    data = b"".join(_pseudo_random(size, seed=size))
    digest = Digest.of_bytes(data)
    if fault[0] == "PATCH" and size <= 2 * MiB:
        faults.faults = []  # monolithic uploads send no PATCH
    assert backend.put(digest, _chunks(data, 700_000), size=size) == size
    assert faults.faults == []  # the fault was met
    assert backend.exists(digest) == size
    assert b"".join(backend.open(digest)) == data


@pytest.mark.parametrize(
    ("fault", "retried"),
    [
        (("PATCH", "/blobs/uploads/", "refuse"), False),
        (("PATCH", "/blobs/uploads/", "lose"), False),
        (("PATCH", "/blobs/uploads/", "503"), False),
        (("PUT", "/blobs/uploads/", "refuse"), True),
        (("PUT", "/blobs/uploads/", "lose"), False),
        (("POST", "/blobs/uploads/", "503"), True),
        (("PUT", "/manifests/", "503"), True),
    ],
    ids=lambda f: "-".join(f).replace("/", "") if isinstance(f, tuple) else str(f),
)
def test_streamed_upload_faults(
    registry: str, fault: tuple[str, str, str], retried: bool, oci: Callable[..., OciBackend]
) -> None:
    """A streamed blob keeps no bytes for a retry: a failed PATCH (or a commit whose answer
    was lost) fails the upload, with nothing visible, for its client to send it again."""
    commit = fault[:2] == ("PUT", "/blobs/uploads/")
    faults = Faults(fault, skip=1 if commit else 0)  # not the empty config blob's PUT
    backend = oci(_repo(registry), backoff=0.01, transport=faults)
    data = b"".join(_pseudo_random(3 * MiB + 5, seed=7))
    digest = Digest.of_bytes(data)

    def put() -> int:
        return backend.put_streamed(_chunks(data, 700_000), lambda: digest, size=len(data))

    if retried:
        assert put() == len(data)
    else:
        with pytest.raises(NetworkError, match=r"is unavailable|lost the answer"):
            put()
        assert faults.faults == []
        if commit:  # committed, answer lost: a blob, but not evidence until its manifest
            assert backend.exists(digest) is None
        else:
            _invisible(backend, digest)
        assert put() == len(data)  # the client's retry
    assert faults.faults == []
    assert b"".join(backend.open(digest)) == data


@pytest.mark.parametrize("action", ["refuse", "503"])
def test_later_chunk_resumes_where_the_registry_is(
    registry: str, action: str, oci: Callable[..., OciBackend]
) -> None:
    faults = Faults(("PATCH", "/blobs/uploads/", action), skip=2)
    backend = oci(_repo(registry), chunk_size=MiB, monolithic_max=MiB, transport=faults)
    data = b"".join(_pseudo_random(4 * MiB, seed=4))
    digest = Digest.of_bytes(data)
    assert backend.put(digest, _chunks(data), size=len(data)) == len(data)
    assert faults.faults == []
    # one session for the empty config blob, one for the evidence: resumed, not restarted
    assert faults.log.count(f"POST /v2/{backend.path}/blobs/uploads/") == 2
    assert b"".join(backend.open(digest)) == data


def test_lost_answer_to_a_later_chunk_fails_cleanly(
    registry: str, oci: Callable[..., OciBackend]
) -> None:
    """distribution 2.8 cannot resume then (see OciBackend._upload_status): a clear error,
    nothing visible, and the next put succeeds."""
    faults = Faults(("PATCH", "/blobs/uploads/", "lose"), skip=2)
    backend = oci(
        _repo(registry), chunk_size=MiB, monolithic_max=MiB, backoff=0.01, transport=faults
    )
    data = b"".join(_pseudo_random(4 * MiB, seed=4))
    digest = Digest.of_bytes(data)
    with pytest.raises(NetworkError, match="dropped an upload after a failed chunk") as info:
        backend.put(digest, _chunks(data), size=len(data))
    assert info.value.hint == "upload the blob again"
    _invisible(backend, digest)
    assert backend.put(digest, _chunks(data), size=len(data)) == len(data)
    assert b"".join(backend.open(digest)) == data


def test_download_resumes_after_a_dropped_connection(
    registry: str, oci: Callable[..., OciBackend]
) -> None:
    faults = Faults(("GET", "/blobs/sha256:", "cut"))
    backend = oci(_repo(registry), backoff=0.01, transport=faults)
    data = b"".join(_pseudo_random(5 * MiB, seed=5))
    digest = Digest.of_bytes(data)
    backend.put(digest, _chunks(data))
    assert b"".join(backend.open(digest)) == data
    assert faults.faults == []
    assert faults.log.count(f"GET /v2/{backend.path}/blobs/{digest}") == 2  # first + Range


def test_persistent_5xx_becomes_network_error(
    registry: str, oci: Callable[..., OciBackend]
) -> None:
    faults = Faults(*[("HEAD", "/blobs/", "503")] * 3)
    backend = oci(_repo(registry), retries=2, backoff=0.01, transport=faults)
    with pytest.raises(
        NetworkError, match=r"HEAD /v2/.*/blobs/sha256:\w+ failed 3 times \(HTTP 503\)"
    ):
        backend.exists(Digest.of_bytes(DATA))


# -- configuration --------------------------------------------------------------------------


def test_validate(backend: OciBackend) -> None:
    backend.validate()
    tags = _raw(backend, "GET", "tags/list").json().get("tags") or []
    assert tags == []  # the probe's manifest is gone


@pytest.mark.parametrize(
    "repository", ["chainproof/evidence", "127.0.0.1:5000", "127.0.0.1:5000/Upper", "host:1/a//b"]
)
def test_bad_repository(repository: str) -> None:
    with pytest.raises(InvalidInput, match="not an OCI repository for the CAS") as info:
        OciBackend(repository)
    assert "host[:port]/path" in info.value.diagnostics()


def test_repository_forms(oci: Callable[..., OciBackend]) -> None:
    assert oci("oci://127.0.0.1:5000/org/cas").repository == "127.0.0.1:5000/org/cas"
    assert repr(oci("localhost/cas")) == "OciBackend(repository='localhost/cas')"


def test_credentials_from_the_environment(tmp_path: Path, oci: Callable[..., OciBackend]) -> None:
    auth = {"auths": {"ghcr.example.com": {"auth": "dXNlcjpzM2NyZXQ="}}}  # user:s3cret
    (tmp_path / "config.json").write_text(json.dumps(auth))
    backend = oci("ghcr.example.com/org/cas", environ={"DOCKER_CONFIG": str(tmp_path)})
    assert backend._client._credentials == Credentials("user", "s3cret")
    explicit = Credentials("robot", "token")
    backend = oci(
        "ghcr.example.com/org/cas", credentials=explicit, environ={"DOCKER_CONFIG": str(tmp_path)}
    )
    assert backend._client._credentials == explicit
    assert "s3cret" not in repr(backend) and "token" not in repr(backend._client._credentials)


# -- authentication (the Docker token flow, as Docker Hub, GHCR and Harbor use) --------------


def test_token_auth_push_pull_delete(
    token_registry: tuple[str, list[dict[str, list[str]]]], oci: Callable[..., OciBackend]
) -> None:
    host, token_requests = token_registry
    backend = oci(_repo(host), credentials=Credentials("ci-robot", "s3cret-robot"))
    data = b"".join(_pseudo_random(3 * MiB, seed=9))
    digest = Digest.of_bytes(data)
    seen = len(token_requests)
    assert backend.put(digest, _chunks(data), size=len(data)) == len(data)  # chunked: PATCHes
    assert backend.exists(digest) == len(data)
    assert b"".join(backend.open(digest)) == data
    backend.delete(digest)
    assert backend.exists(digest) is None
    scopes = {s for q in token_requests[seen:] for s in q.get("scope", [])}
    # the registry's challenge names the actions, in an order of its choosing
    actions = {
        frozenset(s.rsplit(":", 1)[1].split(","))
        for s in scopes
        if s.startswith(f"repository:{backend.path}:")
    }
    assert frozenset({"pull", "push"}) in actions
    assert all(q.get("service") == ["chainproof-test-registry"] for q in token_requests[seen:])


def test_token_auth_from_docker_config(
    token_registry: tuple[str, list[dict[str, list[str]]]],
    tmp_path: Path,
    oci: Callable[..., OciBackend],
) -> None:
    host, _ = token_registry
    auth = base64.b64encode(b"ci-robot:s3cret-robot").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    backend = oci(_repo(host), environ={"DOCKER_CONFIG": str(tmp_path)})
    backend.validate()


def test_token_auth_refused(
    token_registry: tuple[str, list[dict[str, list[str]]]], oci: Callable[..., OciBackend]
) -> None:
    host, _ = token_registry
    for credentials in (None, Credentials("ci-robot", "wrong")):
        backend = oci(_repo(host), credentials=credentials, retries=0)
        with pytest.raises(Unauthorized, match=f"OCI registry {host}/.* refused to .* 401") as info:
            backend.put(Digest.of_bytes(DATA), [DATA])
        assert "wrong" not in info.value.diagnostics()
        assert "credentials" in info.value.diagnostics()


# -- garbage collection -------------------------------------------------------------------


def test_registry_garbage_collection_keeps_evidence(tmp_path: Path) -> None:
    """Run the registry's real garbage collector: the blob chainproof uploaded survives (its
    evidence manifest references it), an unreferenced blob pushed beside it does not."""
    running = start_registry(tmp_path)
    host = next(running)
    repo = f"{host}/chainproof/gc"
    evidence = b"".join(_pseudo_random(1 * MiB, seed=7))
    digest = Digest.of_bytes(evidence)
    with OciBackend(repo, backoff=0.01) as backend:
        backend.put(digest, _chunks(evidence))
    orphan = Digest.parse(push_blob(host, "chainproof/gc", b"nobody references this blob"))
    storage = tmp_path / "data"
    assert _data_file(storage, orphan).exists()
    running.close()  # the collector runs on a stopped registry

    collected = subprocess.run(
        ["docker-registry", "garbage-collect", str(tmp_path / "config.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert collected.returncode == 0, collected.stderr
    assert not _data_file(storage, orphan).exists()  # the collector did collect

    restarted = start_registry(tmp_path)
    host = next(restarted)
    try:
        with OciBackend(f"{host}/chainproof/gc", backoff=0.01) as backend:
            assert backend.exists(digest) == len(evidence)
            assert b"".join(backend.open(digest)) == evidence
    finally:
        restarted.close()
