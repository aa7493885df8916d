"""Git HEAD of the job's checkout, for the attestation's ``git`` section and subject.

Runs the ``git`` command (no GitPython) with a timeout and a fixed locale. Remote URLs lose
their credentials before they leave this module: CI checkouts often embed a token
(``https://x-access-token:<token>@github.com/...``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

TIMEOUT_SECONDS = 10.0
"""Per git command; ``git status`` on a huge checkout is the slow one."""

_LOG_FORMAT = "--format=%H%x00%an%x00%ae%x00%aI%x00%B"
"""Hash, author name, email, strict ISO 8601 (RFC 3339) author date, raw message."""


class _GitFailed(Exception):
    pass


def _git(path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # `git status` must not take the index lock of the job
    }
    try:
        proc = subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _GitFailed(str(exc)) from exc
    if proc.returncode != 0:
        raise _GitFailed(proc.stderr.strip())
    return proc.stdout


def strip_credentials(url: str) -> str:
    """``url`` without credentials: ``https://user:tok@host/x`` -> ``https://host/x``.

    For http(s) the whole user-info goes (a token is often given as the user name alone);
    for other schemes (``ssh://git@host/x``) only a password is removed. scp-like
    ``git@host:org/repo`` has no credentials and is returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc or "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if parts.scheme.lower() in ("http", "https"):
        netloc = hostport
    else:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostport}" if user else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def head_info(path: Path) -> dict[str, Any] | None:
    """Facts about HEAD of the git work tree containing ``path``.

    Returns None outside a git work tree, when ``git`` is missing or fails (e.g. a checkout
    owned by another user, which git refuses as "dubious ownership"), or when HEAD has no
    commit yet. Otherwise: ``commit`` (sha1 hex), ``branch`` (None when detached), ``dirty``
    (tracked changes or untracked files), ``author_name``, ``author_email``, ``date``
    (RFC 3339, author date), ``message`` (first line), ``remotes`` ([{name, url}], URLs
    without credentials), ``signature`` (the commit's armored GPG/SSH/X.509 signature, "" when
    unsigned; not verified: policies such as ``source-commit`` check that there is one).
    """
    try:
        if _git(path, "rev-parse", "--is-inside-work-tree").strip() != "true":
            return None
        fields = _git(path, "log", "-1", "--no-show-signature", _LOG_FORMAT)
        commit, author_name, author_email, date, body = fields.split("\0", 4)
        message = body.strip().splitlines()[0] if body.strip() else ""
        try:
            branch: str | None = _git(path, "symbolic-ref", "--short", "-q", "HEAD").strip()
        except _GitFailed:
            branch = None  # detached HEAD
        dirty = bool(_git(path, "status", "--porcelain", "--untracked-files=normal").strip())
        remotes = _remotes(path)
        signature = commit_signature(_git(path, "cat-file", "commit", commit))
    except (_GitFailed, ValueError):
        return None
    return {
        "commit": commit,
        "branch": branch or None,
        "dirty": dirty,
        "author_name": author_name,
        "author_email": author_email,
        "date": date,
        "message": message,
        "remotes": remotes,
        "signature": signature,
    }


def commit_signature(raw: str) -> str:
    """The signature header of a raw commit object (``gpgsig``, or ``gpgsig-sha256`` in a
    SHA-256 repository), continuation lines joined; "" when the commit is not signed."""
    header = raw.split("\n\n", 1)[0]
    lines: list[str] = []
    inside = False
    for line in header.split("\n"):
        if inside and line.startswith(" "):
            lines.append(line[1:])
            continue
        inside = line.startswith(("gpgsig ", "gpgsig-sha256 "))
        if inside:
            lines.append(line.split(" ", 1)[1])
    return "\n".join(lines)


def _remotes(path: Path) -> list[dict[str, str]]:
    try:
        out = _git(path, "config", "--get-regexp", r"^remote\..*\.url$")
    except _GitFailed:
        return []  # exit status 1: no remote configured
    remotes = []
    for line in out.splitlines():
        key, _, url = line.partition(" ")
        name = key.removeprefix("remote.").removesuffix(".url")
        remotes.append({"name": name, "url": strip_credentials(url.strip())})
    return remotes
