"""``attestation add --value https://...``: evidence downloaded first, then treated as a file."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from chainproof.errors import InvalidInput, NetworkError

MAX_DOWNLOAD = 1024 * 1024 * 1024
_LOOPBACK_HTTP = re.compile(r"^http://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?/")


def is_url(value: str) -> bool:
    """HTTPS URLs, and plain HTTP only on loopback (tests, local mirrors)."""
    return value.startswith("https://") or bool(_LOOPBACK_HTTP.match(value))


def download(url: str, dest_dir: Path, *, max_bytes: int = MAX_DOWNLOAD) -> Path:
    """Stream ``url`` into ``dest_dir`` (named after the URL's last path segment)."""
    import httpx

    name = PurePosixPath(httpx.URL(url).path).name or "download"
    target = dest_dir / name
    size = 0
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            if response.status_code != 200:
                raise InvalidInput(f"cannot download {url}: HTTP {response.status_code}")
            with open(target, "wb") as fh:
                for chunk in response.iter_bytes(1024 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise InvalidInput(f"{url} is larger than {max_bytes} bytes")
                    fh.write(chunk)
    except httpx.HTTPError as err:
        raise NetworkError(f"cannot download {url} ({type(err).__name__})") from None
    return target
