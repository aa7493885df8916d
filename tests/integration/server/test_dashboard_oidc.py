"""Signing in to the dashboard with an identity provider (authorization code flow, PKCE),
as a confidential client: the server sends the provider's client secret to its token
endpoint; a wrong secret, a replayed code or a forged state sign nobody in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.integration.conftest import Env
from tests.oidc_provider import OidcProvider

from chainproof.server.identity_provider import IdentityProvider


@pytest.fixture
def idp(app_client: Env) -> Iterator[OidcProvider]:
    """The provider ``corp`` with a client secret, configured on the app for this test."""
    app: Any = app_client.client.app
    before = app.state.settings
    with OidcProvider() as provider:
        provider.client_secret = "s3cret"
        corp = IdentityProvider(
            name="corp",
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=SecretStr("s3cret"),
        )
        app.state.settings = before.model_copy(update={"identity_providers": [corp]})
        try:
            yield provider
        finally:
            app.state.settings = before


def _authorize(client: TestClient, target: str = "/workflows") -> str:
    """Start signing in; follow the provider's consent; the callback path it sends us to."""
    start = client.get(f"/sign-in/oidc/corp?next={target}", follow_redirects=False)
    assert start.status_code == 303, start.text
    consent = httpx.get(start.headers["location"], follow_redirects=False, timeout=10)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["location"])
    assert back.netloc == "testserver" and back.path == "/sign-in/oidc/corp/callback"
    return f"{back.path}?{back.query}"


def test_a_confidential_client_signs_a_member_in(app_client: Env, idp: OidcProvider) -> None:
    email = f"ana-{app_client.org['name']}@example.com"
    assert app_client.post("/org/invitations", {"email": email, "role": "admin"}).is_success
    idp.add_person("ana", email)
    idp.signed_in = "ana"
    with TestClient(app_client.client.app, raise_server_exceptions=False) as client:
        callback = _authorize(client)
        asked = idp.authorize_requests[-1]
        assert asked["code_challenge_method"] == "S256" and asked["scope"] == "openid email profile"
        done = client.get(callback, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/workflows"
        assert client.cookies.get("cp_session")
        page = client.get("/workflows")
        assert page.status_code == 200 and f"{app_client.org['name']}" in page.text
        replayed = client.get(callback, follow_redirects=False)  # flow cookie gone, code used
        assert replayed.status_code == 401 and "stale" in replayed.text


def test_a_wrong_secret_or_a_forged_state_signs_nobody_in(
    app_client: Env, idp: OidcProvider
) -> None:
    email = f"bob-{app_client.org['name']}@example.com"
    assert app_client.post("/org/invitations", {"email": email, "role": "viewer"}).is_success
    idp.add_person("bob", email)
    idp.signed_in = "bob"
    with TestClient(app_client.client.app, raise_server_exceptions=False) as client:
        callback = _authorize(client)
        query = parse_qs(urlsplit(callback).query)
        forged = client.get(
            f"/sign-in/oidc/corp/callback?code={query['code'][0]}&state=forged",
            follow_redirects=False,
        )
        assert forged.status_code == 401 and not client.cookies.get("cp_session")

    idp.client_secret = "rotated"  # the provider no longer accepts the server's secret
    with TestClient(app_client.client.app, raise_server_exceptions=False) as client:
        refused = client.get(_authorize(client), follow_redirects=False)
        assert refused.status_code == 401 and "invalid_client" in refused.text
        assert not client.cookies.get("cp_session")
