"""The CLI-side resolver of stored policies: which answers fall back to the built-ins."""

from __future__ import annotations

import json

import httpx
import pytest

from chainproof.client.http import ApiClient
from chainproof.client.policies import named_resolver, pinned_resolver
from chainproof.errors import Forbidden, ServiceError

DOC = "apiVersion: chainloop.dev/v1\nkind: Policy\n"


def _problem(status: int, code: str) -> httpx.Response:
    body = {"type": "about:blank", "title": code, "status": status, "detail": code, "code": code}
    return httpx.Response(
        status, content=json.dumps(body), headers={"content-type": "application/problem+json"}
    )


def _api(handler: httpx.MockTransport) -> ApiClient:
    return ApiClient("http://cp.test", "cp_token", transport=handler, retries=0)


def test_answers_and_fallbacks() -> None:
    seen: list[httpx.URL] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        name = request.url.path.rsplit("/", 1)[-1]
        if name == "mine":
            uri = "chainproof://acme/policies/mine/revisions/3"
            return httpx.Response(200, json={"source": "org", "document": DOC, "uri": uri})
        if name == "sbom-ntia":
            uri = "chainproof://builtin/sbom-ntia"
            return httpx.Response(200, json={"source": "builtin", "document": DOC, "uri": uri})
        if name == "secret":
            return _problem(403, "forbidden")
        if name == "broken":
            return httpx.Response(500, text="oops")
        return _problem(404, "not_found")

    with _api(httpx.MockTransport(handle)) as api:
        named = named_resolver(api)
        assert named("mine") == (DOC.encode(), "chainproof://acme/policies/mine/revisions/3")
        assert named("sbom-ntia") is None and named("unknown") is None
        # Not a "no such policy": never fall back to a built-in of the same name.
        with pytest.raises(Forbidden):
            named("secret")
        with pytest.raises(ServiceError):
            named("broken")
        assert pinned_resolver(api)("mine", "ab" * 32) is not None
        assert pinned_resolver(api)("unknown", "ab" * 32) is None
    assert seen[0].path == "/api/v1/policies/mine" and not seen[0].params
    assert seen[-2].params["digest"] == "sha256:" + "ab" * 32
