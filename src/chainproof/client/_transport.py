"""The client's transports: no TLS set-up for a plain ``http://`` control plane.

httpx builds an SSL context (loading the CA bundle) when a client is made, which costs more
than the rest of a short CLI command's set-up. For an ``http://`` base URL the client gets a
transport whose context cannot verify anything (so it could never speak TLS by mistake) and
an ``https://`` transport built on its first request, e.g. a redirect-free upload to an
object store. With proxy variables in the environment httpx's own set-up is kept.
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import Any

import httpx


class LazyTlsTransport(httpx.BaseTransport):
    """httpx's default transport, made (with its SSL context) on the first request."""

    def __init__(self) -> None:
        self._inner: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = httpx.HTTPTransport()
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def client_transports(base_url: str, transport: httpx.BaseTransport | None) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client``: ``transport`` (and ``mounts``)."""
    proxies = urllib.request.getproxies()
    if transport is not None or not base_url.startswith("http://") or proxies.keys() - {"no"}:
        return {"transport": transport}
    no_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA loaded: any TLS would fail
    return {
        "transport": httpx.HTTPTransport(verify=no_tls),
        "mounts": {"https://": LazyTlsTransport()},
    }
