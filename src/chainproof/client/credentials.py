"""The sign-in sessions the CLI keeps for a person (docs/identity.md): one JSON file.

``$XDG_CONFIG_HOME/chainproof/credentials.json`` (``~/.config/...`` when the variable is
unset or not an absolute path, as the XDG Base Directory specification says), readable by its
owner only (mode 0600, in a 0700 directory), written through a temporary file renamed over
it so that a crash never leaves half a file. It holds one session per server URL and
remembers the server signed in to last, which commands use when no ``--url`` is given.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainproof.errors import InvalidInput, Unauthorized

__all__ = ["FILE_NAME", "SavedSession", "credentials_path", "find", "forget", "save"]

FILE_NAME = "credentials.json"
_LOGIN = "sign in with `chainproof auth login`"


@dataclass(frozen=True, kw_only=True)
class SavedSession:
    """A session secret for one server, and who it belongs to."""

    url: str
    token: str
    expires_at: str | None = None
    email: str | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"SavedSession(url={self.url!r}, email={self.email!r}, token=***)"

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the server's expiry time has passed."""
        if not self.expires_at:
            return False
        try:
            ends = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        except ValueError:
            return False
        return ends <= (now or datetime.now(UTC))


def credentials_path(environ: Mapping[str, str]) -> Path:
    """Where the file lives for this environment."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "chainproof" / FILE_NAME


def _key(url: str) -> str:
    """A server root as the API client spells it (``server_root`` without httpx's import)."""
    text = url.strip().rstrip("/")
    for suffix in ("/api/v1", "/api"):
        text = text.removesuffix(suffix)
    return text.rstrip("/")


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {"current": None, "sessions": {}}
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("sessions"), dict):
            raise ValueError("not a credentials document")
    except ValueError:
        raise InvalidInput(
            f"{path} is not a chainproof credentials file",
            hint=f"delete it, then {_LOGIN}",
        ) from None
    return doc


def find(
    environ: Mapping[str, str], url: str | None, *, allow_expired: bool = False
) -> SavedSession | None:
    """The session saved for ``url`` (the last server signed in to when None), if any;
    Unauthorized when it has expired (unless ``allow_expired``)."""
    doc = _read(credentials_path(environ))
    key = _key(url) if url else doc.get("current")
    entry = doc["sessions"].get(key) if isinstance(key, str) else None
    if not isinstance(entry, dict):
        return None
    saved = _saved(entry)
    if saved.expired() and not allow_expired:
        raise Unauthorized(f"your session on {saved.url} has expired", hint=_LOGIN)
    return saved


def save(environ: Mapping[str, str], saved: SavedSession) -> Path:
    """Keep ``saved`` (replacing the session for its URL) and make its server the current one."""
    path = credentials_path(environ)
    doc = _read(path)
    doc["sessions"][_key(saved.url)] = asdict(saved)
    doc["current"] = _key(saved.url)
    _write(path, doc)
    return path


def forget(environ: Mapping[str, str], url: str | None) -> SavedSession | None:
    """Drop the session of ``url`` (the current server when None); the file goes with its
    last session. The session dropped, if there was one."""
    path = credentials_path(environ)
    doc = _read(path)
    key = _key(url) if url else doc.get("current")
    entry = doc["sessions"].pop(key, None) if isinstance(key, str) else None
    if entry is None:
        return None
    if doc.get("current") == key:
        doc["current"] = next(iter(doc["sessions"]), None)
    if doc["sessions"]:
        _write(path, doc)
    else:
        path.unlink(missing_ok=True)
    return _saved(entry)


def _saved(entry: dict[str, Any]) -> SavedSession:
    return SavedSession(
        url=str(entry.get("url")),
        token=str(entry.get("token")),
        expires_at=entry.get("expires_at"),
        email=entry.get("email"),
    )


def _write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # mkstemp makes it 0600 already; a umask cannot widen it
        with os.fdopen(fd, "w") as out:
            json.dump(doc, out, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
