"""``server_root``: what users paste as CHAINPROOF_URL becomes the server root, or a clear
InvalidInput naming the expected form."""

from __future__ import annotations

import pytest

from chainproof.client.http import ApiClient, server_root
from chainproof.errors import InvalidInput


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://cp.example/api", "https://cp.example"),
        ("https://cp.example/api/", "https://cp.example"),
        ("https://cp.example/api/v1", "https://cp.example"),
        ("https://cp.example/api/v1//", "https://cp.example"),
        ("  HTTPS://cp.example:8443/api/v1/ ", "https://cp.example:8443"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
    ],
)
def test_api_paths_are_normalised_to_the_root(given: str, root: str) -> None:
    assert server_root(given) == root


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("127.0.0.1:8000", "has no scheme"),
        ("cp.example", "has no scheme"),
        ("localhost:8000", "has no scheme"),
        ("ftp://cp.example", "scheme 'ftp'"),
        ("http:///api/v1", "has no host"),
        ("http://cp.example:port", "bad port"),
        ("http://cp.example/chainproof", "path '/chainproof'"),
        ("http://cp.example/api/v2", "path '/api/v2'"),
        ("http://cp.example/api/v1/runs", "path '/api/v1/runs'"),
        ("http://cp.example/?x=1", "query or fragment"),
    ],
)
def test_other_urls_are_refused_with_the_expected_form(given: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        server_root(given)
    assert says in caught.value.message
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "http://127.0.0.1:8000" in caught.value.hint


def test_credentials_in_a_refused_url_are_not_echoed() -> None:
    with pytest.raises(InvalidInput) as caught:
        server_root("http://user:s3cret@cp.example/elsewhere")
    assert "s3cret" not in caught.value.diagnostics()


def test_the_client_uses_the_root() -> None:
    with ApiClient("http://cp.test/api/v1/", "cp_x") as api:
        assert api.base_url == "http://cp.test"
