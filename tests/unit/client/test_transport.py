"""A client of a plain-HTTP control plane builds no verifying SSL context (loading the CA
bundle is the dearest part of a short CLI command's set-up), yet keeps one for https."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from chainproof.client._transport import LazyTlsTransport
from chainproof.client.http import HttpSession


@pytest.fixture
def tls_contexts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every verifying SSL context made (httpx makes them with create_default_context)."""
    made: list[Any] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(kwargs.get("cafile") or kwargs.get("capath"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    return made


def test_http_base_url_builds_no_tls_context(tls_contexts: list[Any]) -> None:
    with HttpSession("http://127.0.0.1:8000", "cp_x") as session:
        assert tls_contexts == []
        # https (e.g. an object store's upload URL) still goes through a verifying transport,
        # made on its first request.
        https = session._client._transport_for_url(session._client._merge_url("https://s3.x/"))
        assert isinstance(https, LazyTlsTransport)
    assert tls_contexts == []


def test_https_base_url_verifies_as_before(tls_contexts: list[Any]) -> None:
    with HttpSession("https://cp.example", "cp_x"):
        assert len(tls_contexts) == 1


def test_proxy_environment_keeps_httpx_setup(
    tls_contexts: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    with HttpSession("http://127.0.0.1:8000", "cp_x") as session:
        https = session._client._transport_for_url(session._client._merge_url("https://s3.x/"))
        assert not isinstance(https, LazyTlsTransport)
    assert tls_contexts  # the proxy's transport and the default one verify as httpx does
