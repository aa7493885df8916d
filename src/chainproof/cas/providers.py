"""The one place that turns a provider name and its settings into a :class:`Backend`.

docs/contributing.md §5: callers ask for the interface, never a class. A backend is described by a
provider (``fs``, ``oci``, ``s3``, ``azure-blob``), a non-secret ``config`` and a ``secret``
(credentials), both flat string maps; :func:`check_settings` normalises and checks them and
:func:`build_backend` constructs the backend (importing boto3 or the Azure SDK only then).

=============  ===========================================  ===================================
provider       config (non-secret)                          secret
=============  ===========================================  ===================================
``fs``         ``path`` (required)                          none
``oci``        ``repository`` (required), ``username``      ``password``
``s3``         ``bucket`` (required), ``endpoint``,         ``secret_access_key``,
               ``region``, ``prefix``, ``access_key_id``    ``session_token``
``azure-blob`` ``container`` (required), ``account_url``,   ``connection_string``,
               ``prefix``                                   ``account_key``, ``sas_token``
=============  ===========================================  ===================================

``inline`` (small documents embedded in the attestation, no config, no secret) has no blob
store behind it: the control plane serves its bytes from stored statements, so
:func:`build_backend` refuses it. Its size cap defaults to :data:`INLINE_DEFAULT_MAX`
(500 KB) and may not exceed :data:`INLINE_MAX_CEILING` (2 MB): the bytes travel, base64
encoded, in the crafting state and the signed statement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainproof.cas._stream import DEFAULT_MAX_BLOB_SIZE
from chainproof.cas.backend import Backend
from chainproof.errors import InvalidInput

__all__ = [
    "DEFAULT_MAX_BLOB_SIZE",
    "INLINE_DEFAULT_MAX",
    "INLINE_MAX_CEILING",
    "PROVIDERS",
    "ProviderSpec",
    "build_backend",
    "check_settings",
    "describe",
]

_MiB = 1024 * 1024
INLINE_DEFAULT_MAX = 500 * 1000
INLINE_MAX_CEILING = 2 * 1000 * 1000
_MAX_PARTS = 10_000  # S3's limit per multipart upload
_MAX_BLOCKS = 50_000  # Azure's limit per block blob


@dataclass(frozen=True)
class ProviderSpec:
    """What a provider's config and secret may hold."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    secrets: tuple[str, ...]
    label: str

    @property
    def config_keys(self) -> tuple[str, ...]:
        """Every config key the provider accepts."""
        return self.required + self.optional


PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec("fs", ("path",), (), (), "filesystem"),
        ProviderSpec("oci", ("repository",), ("username",), ("password",), "OCI registry"),
        ProviderSpec(
            "s3",
            ("bucket",),
            ("endpoint", "region", "prefix", "access_key_id"),
            ("secret_access_key", "session_token"),
            "S3",
        ),
        ProviderSpec(
            "azure-blob",
            ("container",),
            ("account_url", "prefix"),
            ("connection_string", "account_key", "sas_token"),
            "Azure Blob",
        ),
        ProviderSpec("inline", (), (), (), "inline"),
    )
}


def _spec(provider: str) -> ProviderSpec:
    spec = PROVIDERS.get(provider)
    if spec is None:
        known = ", ".join(sorted(PROVIDERS))
        raise InvalidInput(f"unknown CAS backend provider {provider!r}", hint=f"one of: {known}")
    return spec


def _clean(
    kind: str, values: Mapping[str, Any], allowed: tuple[str, ...], provider: str
) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if key not in allowed:
            shown = ", ".join(allowed) or "none"
            raise InvalidInput(
                f"a {provider} backend has no {kind} field {key!r}",
                hint=f"its {kind} fields are: {shown}",
            )
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidInput(f"{kind} field {key!r} must be a string")
        value = value.strip()
        if value:
            out[key] = value
    return out


def check_settings(
    provider: str, config: Mapping[str, Any], secret: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Normalised ``(config, secret)``; InvalidInput names the unknown or missing field.

    Empty strings and None drop a field. Never puts a secret value in a message.
    """
    spec = _spec(provider)
    clean_config = _clean("config", config, spec.config_keys, provider)
    clean_secret = _clean("secret", secret, spec.secrets, provider)
    missing = [key for key in spec.required if key not in clean_config]
    if missing:
        raise InvalidInput(f"a {provider} backend needs {', '.join(missing)}")
    if provider == "oci" and ("username" in clean_config) != ("password" in clean_secret):
        raise InvalidInput("an oci backend needs both username and password, or neither")
    if provider == "s3" and ("access_key_id" in clean_config) != (
        "secret_access_key" in clean_secret
    ):
        raise InvalidInput(
            "an s3 backend needs both access_key_id and secret_access_key, or neither",
            hint="without them the server's own AWS credentials (environment, role) are used",
        )
    if provider == "azure-blob":
        has_url = "account_url" in clean_config
        has_conn = "connection_string" in clean_secret
        if has_url == has_conn:
            raise InvalidInput(
                "an azure-blob backend needs exactly one of account_url and connection_string"
            )
        if has_conn and ({"account_key", "sas_token"} & clean_secret.keys()):
            raise InvalidInput("a connection string already holds the credentials")
        if {"account_key", "sas_token"} <= clean_secret.keys():
            raise InvalidInput("give an account key or a SAS token, not both")
    return clean_config, clean_secret


def describe(provider: str, config: Mapping[str, str]) -> str:
    """A one-line description for messages (never credentials)."""
    spec = _spec(provider)
    where = {
        "fs": config.get("path"),
        "oci": config.get("repository"),
        "s3": f"s3://{config.get('bucket')}/{config.get('prefix', '')}",
        "azure-blob": config.get("container"),
    }.get(provider)
    return f"{spec.label} {where}" if where else spec.label


def build_backend(
    provider: str,
    config: Mapping[str, str],
    secret: Mapping[str, str],
    *,
    max_blob_size: int = DEFAULT_MAX_BLOB_SIZE,
    fs_path: Path | None = None,
    quick: bool = False,
) -> Backend:
    """Construct the backend; no request is made. ``quick`` means fewer retries (probes).

    ``fs_path`` is the resolved directory of an ``fs`` backend (the caller decides where a
    ``path`` may point). Raise InvalidInput on impossible settings.
    """
    config, secret = check_settings(provider, config, secret)
    if provider == "inline":
        raise InvalidInput(
            "an inline CAS backend has no blob store to open",
            hint="its evidence is embedded in attestations and served from them",
        )
    if provider == "fs":
        from chainproof.cas.fs import FilesystemBackend

        return FilesystemBackend(fs_path or Path(config["path"]))
    if provider == "oci":
        from chainproof.cas.oci import OciBackend
        from chainproof.oci.registry import Credentials

        creds = (
            Credentials(config["username"], secret["password"]) if "username" in config else None
        )
        return OciBackend(
            config["repository"],
            credentials=creds,
            max_blob_size=max_blob_size,
            retries=1 if quick else 3,
            timeout=15.0 if quick else 60.0,
        )
    if provider == "s3":
        from chainproof.cas.s3 import DEFAULT_PART_SIZE, S3Backend, S3Credentials

        s3_creds = (
            S3Credentials(
                config["access_key_id"], secret["secret_access_key"], secret.get("session_token")
            )
            if "access_key_id" in config
            else None
        )
        return S3Backend(
            config["bucket"],
            prefix=config.get("prefix", ""),
            endpoint_url=config.get("endpoint"),
            region=config.get("region"),
            credentials=s3_creds,
            max_blob_size=max_blob_size,
            part_size=_part_size(max_blob_size, DEFAULT_PART_SIZE, _MAX_PARTS),
            max_attempts=2 if quick else 4,
        )
    from chainproof.cas.azure_blob import DEFAULT_BLOCK_SIZE, AzureBlobBackend

    credential: Any = secret.get("account_key") or secret.get("sas_token")
    return AzureBlobBackend(
        config["container"],
        account_url=config.get("account_url"),
        connection_string=secret.get("connection_string"),
        credential=credential,
        prefix=config.get("prefix", ""),
        max_blob_size=max_blob_size,
        block_size=_part_size(max_blob_size, DEFAULT_BLOCK_SIZE, _MAX_BLOCKS),
        max_attempts=2 if quick else 4,
    )


def _part_size(max_blob_size: int, default: int, max_parts: int) -> int:
    """The default part size, raised (in whole MiB) when ``max_blob_size`` needs bigger parts."""
    needed = math.ceil(max_blob_size / max_parts / _MiB) * _MiB
    return max(default, needed)
