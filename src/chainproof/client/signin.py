"""A person signs in: the OAuth 2.0 device authorization grant (RFC 8628) against one of the
server's identity providers, with authlib's OAuth 2.0 client, then the provider's ID token
exchanged with the control plane for a session (docs/identity.md).

authlib makes the token requests (client authentication, the device-code grant, error
responses); it has no client helper for the device authorization request itself (RFC 8628
§3.1), which is one form POST made through the same authlib client.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx

from chainproof.errors import InvalidInput, NetworkError, ServiceError, Unauthorized

__all__ = ["DEVICE_GRANT", "choose_provider", "device_id_token"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid email profile"
#: RFC 8628 §3.5: on ``slow_down`` the interval grows by 5 seconds.
_SLOW_DOWN = 5
Prompt = Callable[[str, str, str | None], None]


def choose_provider(providers: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    """The provider called ``name``, or the only one; InvalidInput otherwise."""
    if not providers:
        raise InvalidInput(
            "this server has no identity provider to sign in with",
            hint="use an API token (--token / CHAINPROOF_TOKEN); an operator configures "
            "identity_providers (docs/identity.md)",
        )
    if name is None and len(providers) == 1:
        return providers[0]
    for provider in providers:
        if provider["name"] == name:
            return provider
    names = ", ".join(p["name"] for p in providers)
    raise InvalidInput(f"choose an identity provider with --provider: one of {names}")


def _oauth_client(
    provider: dict[str, Any], secret: str | None, timeout: float, transport: Any
) -> Any:
    with warnings.catch_warnings():
        # authlib 1.9 warns that it prefers the httpx2 package; httpx is what we ship.
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=provider["client_id"],
        client_secret=secret,
        scope=SCOPE,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        timeout=timeout,
        transport=transport,
        follow_redirects=False,
    )


def device_id_token(
    provider: dict[str, Any],
    *,
    prompt: Prompt,
    client_secret: str | None = None,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run the device flow: ``prompt(verification_uri, user_code, verification_uri_complete)``
    tells the person where to go; polls until they approve; the ID token. Unauthorized when
    they deny it or the code expires; NetworkError/ServiceError when the provider fails."""
    from authlib.integrations.base_client.errors import OAuthError

    try:
        with _oauth_client(provider, client_secret, timeout, transport) as oauth:
            meta = _json(
                oauth.request(
                    "GET",
                    provider["issuer"].rstrip("/") + "/.well-known/openid-configuration",
                    withhold_token=True,
                )
            )
            device_url, token_url = _endpoints(meta, provider["issuer"])
            form = {"client_id": provider["client_id"], "scope": SCOPE}
            if client_secret:
                form["client_secret"] = client_secret
            grant = _json(oauth.request("POST", device_url, data=form, withhold_token=True))
            prompt(
                grant["verification_uri"],
                grant["user_code"],
                grant.get("verification_uri_complete"),
            )
            interval = max(1, int(grant.get("interval", 5)))
            deadline = time.monotonic() + int(grant.get("expires_in", 600))
            while time.monotonic() < deadline:
                sleep(interval)
                try:
                    token = oauth.fetch_token(
                        token_url, grant_type=DEVICE_GRANT, device_code=grant["device_code"]
                    )
                except OAuthError as err:
                    if err.error == "authorization_pending":
                        continue
                    if err.error == "slow_down":
                        interval += _SLOW_DOWN
                        continue
                    raise Unauthorized(
                        f"the sign-in was not completed: {err.error}"
                        + (f" ({err.description})" if err.description else ""),
                        hint="run `chainproof auth login` again",
                    ) from None
                id_token = token.get("id_token")
                if not isinstance(id_token, str):
                    raise ServiceError(f"{provider['issuer']} returned no ID token (scope openid)")
                return id_token
    except httpx.HTTPError as exc:
        raise NetworkError(
            f"cannot reach identity provider {provider['issuer']}: {exc}",
            hint="check the network, or ask an operator whether the provider is up",
        ) from None
    raise Unauthorized("the sign-in code expired before it was approved", hint="try again")


def _endpoints(meta: dict[str, Any], issuer: str) -> tuple[str, str]:
    device, token = meta.get("device_authorization_endpoint"), meta.get("token_endpoint")
    if not isinstance(device, str) or not isinstance(token, str):
        raise ServiceError(
            f"identity provider {issuer} offers no device authorization grant",
            hint="its discovery document lacks device_authorization_endpoint",
        )
    return device, token


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        doc = reply.json()
    except ValueError:
        doc = None
    if reply.status_code != 200 or not isinstance(doc, dict):
        raise ServiceError(f"{reply.request.url} answered HTTP {reply.status_code}")
    return doc
