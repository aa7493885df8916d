"""README.md's first steps run verbatim: the block after the ``first-steps`` marker, with bash.

The block is read from README.md at test time, so the README and this test cannot drift. It
runs as written, top to bottom, in a fresh directory holding a copy of ``examples/`` (the
README runs it from the root of a clone), with the installed CLI first on PATH. Only the
environment differs: ``DATA`` and ``PORT``, which the block reads with defaults, name a
temporary data dir and a free port. ``set -euo pipefail`` makes any command that exits
non-zero fail the test, naming its README line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from tests.e2e.conftest import CLI, _base_env, _free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- first-steps"


def first_steps_block(readme: str) -> tuple[int, list[str]]:
    """The line number (1-based) of the first line inside the block after the marker, and
    the block's lines."""
    lines = readme.splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith(MARKER)]
    assert len(marks) == 1, f"README.md needs exactly one {MARKER!r} marker, found {len(marks)}"
    fence = marks[0] + 1
    assert lines[fence].strip() == "```sh", "the marker must be followed by a ```sh block"
    end = lines.index("```", fence + 1)
    return fence + 2, lines[fence + 1 : end]


def test_the_block_is_the_whole_first_hour() -> None:
    _, block = first_steps_block((ROOT / "README.md").read_text())
    text = "\n".join(block)
    for step in (
        "chainproof server init",
        "chainproof server start",
        "chainproof workflow contract create",
        "chainproof project create",
        "chainproof workflow create",
        "chainproof api-token create",
        "chainproof attestation init",
        "chainproof attestation add",
        "chainproof attestation push",
        "chainproof workflow run list",
        "chainproof workflow run describe",
        "chainproof artifact download",
    ):
        assert step in text, f"the first-steps block lost {step!r}"
    assert text.index("project create") < text.index("workflow create")


def test_readme_first_steps_run_verbatim(tmp_path: Path) -> None:
    first_line, block = first_steps_block((ROOT / "README.md").read_text())
    work = tmp_path / "clone"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    # Line 1 of the script is the header; README line N is script line N - first_line + 2.
    offset = first_line - 2
    header = (
        "set -euo pipefail; trap 'echo \"README.md line $((LINENO + "
        f"{offset})) exited $?: $BASH_COMMAND\" >&2' ERR"
    )
    script = work / "first-steps.sh"
    script.write_text("\n".join([header, *block]) + "\n")

    env = _base_env(tmp_path)
    env["PATH"] = f"{Path(CLI).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DATA"] = str(tmp_path / "data")
    env["PORT"] = str(_free_port())
    proc = subprocess.Popen(
        ["bash", str(script)],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the server it starts goes with it
    )
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    log = tmp_path / "data" / "server.log"
    assert proc.returncode == 0, (
        f"the README's first steps failed\nstderr:\n{err}\nstdout (end):\n{out[-3000:]}\n"
        f"server log (end):\n{log.read_text()[-3000:] if log.exists() else '(none)'}"
    )
    # The evidence made the round trip, and the bundle the job pushed is on disk.
    downloaded = (work / "sbom.downloaded.json").read_bytes()
    assert downloaded == (ROOT / "examples" / "sbom.cdx.json").read_bytes()
    assert (work / "attestation.bundle.json").stat().st_size > 0
