"""One identity provider people sign in with (docs/identity.md): a setting's value type.

Kept out of settings.py so that the services validating sign-ins import a small model, not
the whole settings machinery.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["IdentityProvider"]


class IdentityProvider(BaseModel):
    """An OIDC provider: its ID tokens (audience: the client id) sign people in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    issuer: str = Field(min_length=1, max_length=500)
    client_id: str = Field(min_length=1, max_length=500)
    #: Only for providers whose token endpoint demands one: the CLI is handed it by the person
    #: signing in (`auth login --client-secret`), never by the server; the dashboard's code
    #: flow sends it to the provider's token endpoint only (unset: a public client, PKCE).
    client_secret: SecretStr | None = None
    #: Lower-case domains a person's verified email must be in; empty: any domain.
    allowed_email_domains: list[str] = Field(default_factory=list)

    @field_validator("issuer")
    @classmethod
    def _https_or_loopback(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return url
        if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
            return url
        raise ValueError("the issuer must be an https URL (http only on a loopback host)")

    @field_validator("allowed_email_domains")
    @classmethod
    def _lower(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in domains if d.strip()]

    def allows(self, email: str) -> bool:
        """Whether ``email`` (lower case) is in an allowed domain."""
        if not self.allowed_email_domains:
            return True
        return email.rpartition("@")[2] in self.allowed_email_domains


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
