"""Image references resolved against their registries: the network side of CONTAINER_IMAGE.

:class:`RegistryImageResolver` implements ``core.materials.container_image.ImageResolver``
over :class:`chainproof.oci.registry.RegistryClient`, one client per registry host (so a bearer
token is fetched once per repository), with credentials from ``CHAINPROOF_REGISTRY_*`` or the
Docker config (:func:`chainproof.oci.registry.credentials_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from chainproof.core.digest import Digest
from chainproof.core.materials.container_image import ImageManifest
from chainproof.oci.registry import RegistryClient, credentials_for, split_repository

__all__ = ["RegistryImageResolver"]


class RegistryImageResolver:
    """Asks each reference's registry. Use as a context manager or call :meth:`close`."""

    def __init__(
        self, environ: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._environ = dict(environ)
        self._transport = transport
        self._clients: dict[str, RegistryClient] = {}

    def __enter__(self) -> RegistryImageResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections of every registry asked so far."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def resolve(self, repository: str, reference: str) -> ImageManifest:
        """The manifest ``reference`` names in ``repository``; NotFound, Unauthorized or
        NetworkError as :meth:`RegistryClient.resolve` raises them."""
        client, path = self._client(repository)
        info = client.resolve(path, reference)
        return ImageManifest(info.digest, info.media_type, info.size)

    def referrers(self, repository: str, digest: Digest) -> list[dict[str, Any]]:
        """The OCI referrers of ``digest`` in ``repository`` (none when there are none)."""
        client, path = self._client(repository)
        return client.referrers(path, digest)

    def _client(self, repository: str) -> tuple[RegistryClient, str]:
        host, path = split_repository(repository)
        client = self._clients.get(host)
        if client is None:
            credentials = credentials_for(host, self._environ)
            client = RegistryClient(host, credentials=credentials, transport=self._transport)
            self._clients[host] = client
        return client, path
