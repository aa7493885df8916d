"""The http.send allow-list: host names as given, and the worker's checks of a request."""

from __future__ import annotations

import pytest

from chainproof.errors import InvalidInput
from chainproof.policy import _worker_http as http
from chainproof.policy.network import parse_hostnames


def test_host_names_are_split_lowered_and_sorted() -> None:
    assert parse_hostnames(["API.osv.dev, www.cisa.gov", "api.osv.dev", " ", "::1"]) == [
        "::1",
        "api.osv.dev",
        "www.cisa.gov",
    ]
    assert parse_hostnames(["[::1]", "127.0.0.1"]) == ["127.0.0.1", "::1"]
    assert parse_hostnames([""]) == []


@pytest.mark.parametrize(
    "bad", ["https://x.dev", "x.dev:443", "x.dev/path", "a b", "-x.dev", "*.x.dev"]
)
def test_anything_but_a_bare_host_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="is not a host name") as caught:
        parse_hostnames([bad])
    assert caught.value.exit_code == 2


def test_requests_are_read_from_the_printed_output() -> None:
    printed = (
        "something else\n"
        '__CHAINPROOF_HTTP_SEND__ {\\"method\\":\\"GET\\",\\"url\\":\\"http://a/x\\"}\n'
        '__CHAINPROOF_HTTP_SEND__ {\\"method\\":\\"GET\\",\\"url\\":\\"http://a/x\\"}\n'
        '__CHAINPROOF_HTTP_SEND__ {"url": "http://b/\\u00e9"}\n'
    )
    assert http.requests_in(printed) == [
        {"method": "GET", "url": "http://a/x"},
        {"url": "http://b/\u00e9"},
    ]


def test_the_host_check_matches_the_url_host_exactly() -> None:
    allowed = {"api.osv.dev"}
    assert http.check_host({"url": "https://API.osv.dev:8443/v1"}, allowed)
    for url, problem in [
        ("https://osv.dev/", "http.send to osv.dev is not allowed"),
        ("https://api.osv.dev.evil.example/", "to api.osv.dev.evil.example is not allowed"),
        ("https://api.osv.dev@evil.example/", "to evil.example is not allowed"),
        ("file:///etc/passwd", "is not an http:// or https:// URL"),
    ]:
        with pytest.raises(http.Refused, match=problem):
            http.check_host({"url": url}, allowed)
    with pytest.raises(http.Refused, match="has no url"):
        http.check_host({}, allowed)
