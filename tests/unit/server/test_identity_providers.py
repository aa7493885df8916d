"""The ``identity_providers`` setting (docs/identity.md): from config.toml tables and from a
JSON environment variable, validated (https issuers, loopback http only), domains normalised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainproof.errors import InvalidInput
from chainproof.server.identity_provider import IdentityProvider
from chainproof.server.settings import Settings


def test_providers_come_from_config_toml_tables(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[[identity_providers]]\n"
        'name = "corp"\n'
        'issuer = "https://login.example.com/realms/corp"\n'
        'client_id = "chainproof-cli"\n'
        'allowed_email_domains = ["Example.COM", "@corp.test"]\n'
    )
    settings = Settings.embedded(tmp_path, environ={})
    (corp,) = settings.identity_providers
    assert corp.allowed_email_domains == ["example.com", "corp.test"]
    assert corp.allows("ana@example.com") and not corp.allows("eve@example.org")
    assert corp.client_secret is None


def test_providers_come_from_json_in_the_environment_and_a_secret_stays_secret(
    tmp_path: Path,
) -> None:
    given = [{"name": "g", "issuer": "https://accounts.google.com", "client_id": "x",
              "client_secret": "s3cret"}]  # fmt: skip
    env = {"CHAINPROOF_IDENTITY_PROVIDERS": json.dumps(given)}
    (google,) = Settings.embedded(tmp_path, environ=env).identity_providers
    assert google.allows("anyone@anywhere.org")  # no domains: any
    assert "s3cret" not in repr(google)


@pytest.mark.parametrize(
    "issuer", ["http://login.example.com", "ftp://x", "login.example.com", "https://"]
)
def test_an_issuer_must_be_https_or_loopback_http(tmp_path: Path, issuer: str) -> None:
    env = {"CHAINPROOF_IDENTITY_PROVIDERS": json.dumps([{"name": "a", "issuer": issuer,
                                                         "client_id": "c",
                                                         "client_secret": "s3cret"}])}  # fmt: skip
    with pytest.raises(InvalidInput, match="CHAINPROOF_IDENTITY_PROVIDERS") as caught:
        Settings.embedded(tmp_path, environ=env)
    assert "must be an https URL" in caught.value.message
    assert "s3cret" not in caught.value.message  # the value may hold a client secret
    assert IdentityProvider(name="l", issuer="http://127.0.0.1:8080", client_id="c").issuer
