"""CAS faults, from the installed CLI against a real `server start` process (issue 4, Faults).

- A client killed mid-upload leaves no partial blob: while its bytes are in flight the blob is
  not visible (HEAD 404), the server drops its temporary file once the connection is gone, and
  the same upload run again succeeds.
- A CAS that is down gives a clear error naming the CAS URL, after a bounded number of retries
  with backoff, and exit code 4.
- A blob corrupted in the filesystem store is refused by `artifact download` with a digest
  mismatch (exit 1), and no output file is left behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.e2e.conftest import CLI, Cli, Server, cli_for, start_server

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The e2e server with room for the 256 MiB upload below: the embedded store takes 100 MB
    unless configured (docs/server-hardening.md)."""
    tmp = tmp_path_factory.mktemp("server")
    extra = {"CHAINPROOF_CAS_MAX_BLOB_SIZE": str(512 * MiB)}
    yield from start_server(tmp, run_expiry_seconds=600, extra_env=extra)


def _write(path: Path, size: int) -> str:
    """Incompressible bytes (a random block, each copy led by its offset); the sha256 hex."""
    block = bytearray(os.urandom(MiB))
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for offset in range(0, size, MiB):
            block[:8] = offset.to_bytes(8, "big")
            piece = bytes(block[: min(MiB, size - offset)])
            fh.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def _head(server: Server, digest_hex: str) -> int:
    """HEAD the blob with a (run-less) upload grant: 200 only once the blob is stored."""
    grant = httpx.post(
        f"{server.url}/api/v1/cas/tokens",
        json={"direction": "upload"},
        headers={"Authorization": f"Bearer {server.owner_token}"},
        timeout=10,
    )
    assert grant.status_code == 200, grant.text
    reply = httpx.head(
        f"{grant.json()['url']}/blobs/sha256:{digest_hex}",
        headers={"Authorization": f"Bearer {grant.json()['token']}"},
        timeout=10,
    )
    return reply.status_code


def _wait(condition: object, what: str, timeout: float = 15.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def test_killed_upload_leaves_no_partial_blob_and_a_retry_succeeds(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    size = 256 * MiB
    big = tmp_path / "release.bin"
    hexd = _write(big, size)
    store = server.data_dir / "cas" / "sha256" / hexd[:2]

    spool = server.data_dir / "cas" / "uploads"

    def temp_files() -> list[Path]:
        # fs backend: a file this large is streamed (digest after the bytes) into a temporary
        # file under uploads/, renamed onto sha256/<ab>/<hex> once its digest matched
        return list(spool.glob(".upload.*")) if spool.is_dir() else []

    proc = subprocess.Popen(
        [CLI, "artifact", "upload", str(big), "-o", "json"],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def uploading() -> bool:
            assert proc.poll() is None, "the upload ended before it could be interrupted"
            return bool(temp_files())

        _wait(uploading, "the server to start receiving the blob")
        os.kill(proc.pid, signal.SIGSTOP)  # frozen mid-transfer
        assert _head(server, hexd) == 404  # bytes in flight are not a blob
        assert not (store / hexd).exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    _wait(lambda: not temp_files(), "the server to drop the partial upload")
    assert not (store / hexd).exists()
    assert _head(server, hexd) == 404

    retried = cli.json("artifact", "upload", str(big))
    assert retried == {
        "digest": f"sha256:{hexd}",
        "size": size,
        "uploaded": True,
        "run_id": None,
        "project": None,
    }
    assert _head(server, hexd) == 200
    assert (store / hexd).stat().st_size == size and not temp_files()
    # Read once, so not asked about first (no HEAD): sent again, stored once.
    again = cli.json("artifact", "upload", str(big))
    assert again["digest"] == f"sha256:{hexd}" and again["uploaded"] is True
    assert not [p for p in store.iterdir() if p.name.startswith(".")] and not temp_files()
    assert (store / hexd).stat().st_size == size


# -- CAS down ------------------------------------------------------------------------------


def _reserved_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cas_port() -> int:
    return _reserved_port()


@pytest.fixture(scope="module")
def split_server(tmp_path_factory: pytest.TempPathFactory, cas_port: int) -> Iterator[Server]:
    """A control plane that sends clients to a separate CAS at ``cas_port`` (not started)."""
    yield from start_server(
        tmp_path_factory.mktemp("split"),
        run_expiry_seconds=600,
        extra_env={"CHAINPROOF_CAS_URL": f"http://127.0.0.1:{cas_port}/cas/v1"},
    )


def test_cas_down_names_the_cas_and_gives_up_after_bounded_retries(
    split_server: Server, cas_port: int, tmp_path: Path
) -> None:
    cli = cli_for(split_server, tmp_path)
    # Retries are bounded by time (capped exponential backoff with full jitter): a short
    # budget keeps the test quick; how many tries fit in it varies.
    cli.env["CHAINPROOF_RETRY_TIMEOUT"] = "4"
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(b"evidence for a CAS that is down\n" * 1000)
    cas_url = f"http://127.0.0.1:{cas_port}/cas/v1"

    started = time.monotonic()
    refused = cli("artifact", "upload", str(evidence), check=False)
    elapsed = time.monotonic() - started
    assert refused.returncode == 4, refused.stderr
    # One "chainproof: ... retrying" notice per retry, then the error.
    notices, _, error = refused.stderr.partition("Error: ")
    assert all(line.startswith("chainproof: ") for line in notices.splitlines()), notices
    tried = re.match(rf"the CAS at {re.escape(cas_url)} is unavailable \(tried (\d+) times", error)
    assert tried is not None and int(tried.group(1)) >= 2, error
    assert "Connection refused" in refused.stderr and "Hint: " in refused.stderr
    assert split_server.owner_token not in refused.stderr
    # A 4 s retry budget: a few seconds of waiting, then it gives up.
    assert elapsed < 20

    # A CAS that accepts connections and drops them: count the attempts.
    accepted: list[float] = []
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", cas_port))
        listener.listen()
        listener.settimeout(0.2)
        stop = threading.Event()

        def drop_all() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                accepted.append(time.monotonic())
                conn.close()

        worker = threading.Thread(target=drop_all, daemon=True)
        worker.start()
        try:
            dropped = cli("artifact", "upload", str(evidence), "-o", "json", check=False)
        finally:
            stop.set()
            worker.join(timeout=5)
    assert dropped.returncode == 4, dropped.stderr
    assert dropped.stdout == ""
    tries = re.search(
        rf"the CAS at {re.escape(cas_url)} is unavailable \(tried (\d+) times", dropped.stderr
    )
    assert tries is not None, dropped.stderr
    assert int(tries.group(1)) == len(accepted) >= 2  # every try reached the CAS, then it gave up


# -- corrupt blob --------------------------------------------------------------------------


def test_corrupt_blob_is_refused_and_leaves_no_file(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    evidence = tmp_path / "firmware.bin"
    hexd = _write(evidence, 3 * MiB + 17)
    cli("attestation", "init", "--workflow", "build", "--project", "faults")
    cli("attestation", "add", "--name", "firmware", "--kind", "ARTIFACT", "--value", str(evidence))
    cli("attestation", "push")
    out = tmp_path / "out"
    out.mkdir()
    good = cli.json("artifact", "download", f"sha256:{hexd}", "--to", str(out / "ok.bin"))
    assert good == {"digest": f"sha256:{hexd}", "path": str(out / "ok.bin"), "size": 3 * MiB + 17}
    assert (out / "ok.bin").read_bytes() == evidence.read_bytes()

    stored = server.data_dir / "cas" / "sha256" / hexd[:2] / hexd
    with open(stored, "r+b") as fh:  # flip one bit in the middle of the stored blob
        fh.seek(2 * MiB)
        byte = fh.read(1)
        fh.seek(2 * MiB)
        fh.write(bytes([byte[0] ^ 0x01]))

    bad = cli("artifact", "download", f"sha256:{hexd}", "--to", str(out / "bad.bin"), check=False)
    assert bad.returncode == 1, bad.stderr
    assert bad.stderr.startswith(f"Error: downloaded bytes do not match sha256:{hexd}")
    assert bad.stdout == ""
    # Nothing new in the directory: neither the file nor a temporary part of it...
    assert sorted(p.name for p in out.iterdir()) == ["ok.bin"]
    # ...and an existing destination is left as it was.
    refused = cli(
        "artifact", "download", f"sha256:{hexd}", "--to", str(out / "ok.bin"), check=False
    )
    assert refused.returncode == 2 and "--force" in refused.stderr
    kept = cli("artifact", "download", f"sha256:{hexd}", "--to", str(out / "ok.bin"), "--force",
               check=False)  # fmt: skip
    assert kept.returncode == 1
    assert (out / "ok.bin").read_bytes() == evidence.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["ok.bin"]


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, revalidating CAS backends every second: this test points the
    organisation's default CAS at a registry it then stops."""
    yield from start_server(
        tmp_path_factory.mktemp("registry-down"),
        run_expiry_seconds=600,
        extra_env={"CHAINPROOF_CAS_VALIDATION_SECONDS": "1"},
    )


def _status_becomes(cli: Cli, name: str, wanted: str, within: float = 30.0) -> dict[str, object]:
    """Poll `cas-backend list` until backend ``name`` has ``wanted`` status (the server's
    periodic revalidation job sets it)."""
    deadline = time.monotonic() + within
    while True:
        listed = cli.json("cas-backend", "list")
        assert isinstance(listed, list)
        (row,) = [b for b in listed if b["name"] == name]
        if row["status"] == wanted:
            return dict(row)
        assert time.monotonic() < deadline, f"{name} is still {row['status']}, not {wanted}"
        time.sleep(0.5)


def test_registry_down_names_the_backend_and_a_retry_succeeds_once_it_is_back(
    own_server: Server, tmp_path: Path
) -> None:
    from tests.registry import start_registry

    root = tmp_path / "registry"
    root.mkdir()
    running = start_registry(root)
    host = next(running)
    port = int(host.rsplit(":", 1)[1])
    cli = cli_for(own_server, tmp_path)
    cli(
        "cas-backend",
        "add",
        "oci",
        "--name",
        "registry",
        "--repository",
        f"{host}/e2e/down",
        "--default",
    )
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(b"evidence for a registry that goes down\n" * 1000)
    running.close()

    started = time.monotonic()
    refused = cli("artifact", "upload", str(evidence), check=False, CHAINPROOF_RETRY_TIMEOUT="3")
    elapsed = time.monotonic() - started
    assert refused.returncode == 4, refused.stderr
    assert f"OCI registry {host}/e2e/down is unavailable" in refused.stderr
    assert elapsed < 60  # bounded retries with backoff, never a hang
    # The periodic revalidation notices, and notices the recovery.
    down = _status_becomes(cli, "registry", "invalid")
    assert "unavailable" in str(down.get("status_message"))

    restarted = start_registry(root, port)
    next(restarted)
    try:
        _status_becomes(cli, "registry", "ok")
        uploaded = cli.json("artifact", "upload", str(evidence))
        assert isinstance(uploaded, dict)
        digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
        assert uploaded["digest"] == f"sha256:{digest}"
        blob = httpx.get(f"http://{host}/v2/e2e/down/blobs/sha256:{digest}", timeout=10)
        assert blob.status_code == 200 and blob.content == evidence.read_bytes()
    finally:
        restarted.close()


def _on_a_terminal(cli: Cli, *args: str) -> tuple[int, str]:
    """Run the installed CLI with its stderr on a pseudo-terminal; its exit code and what
    the terminal received."""
    import pty

    leader, follower = pty.openpty()
    env = {**cli.env, "COLUMNS": "100", "TERM": "xterm"}
    with subprocess.Popen(
        [CLI, *args], env=env, cwd=cli.cwd, stdout=subprocess.DEVNULL, stderr=follower
    ) as proc:
        os.close(follower)
        received = bytearray()
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        code = proc.wait(timeout=60)
    os.close(leader)
    return code, received.decode("utf-8", errors="replace")


def test_progress_bars_on_a_terminal_only(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    code, terminal = _on_a_terminal(cli, "artifact", "upload", str(big))
    assert code == 0, terminal
    assert "big.bin" in terminal and "━" in terminal  # the label and Rich's bar
    assert "3.1/3.1 MB" in terminal  # the transfer column, run to completion
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1000)
    code, terminal = _on_a_terminal(cli, "artifact", "upload", str(small))
    assert code == 0 and "━" not in terminal  # 1 MB or less: no bar
    code, terminal = _on_a_terminal(cli, "artifact", "upload", str(big), "-o", "json")
    assert code == 0 and "━" not in terminal  # -o json: no bar
    piped = cli("artifact", "upload", str(big))  # stderr is a pipe: no bar
    assert "━" not in piped.stderr
