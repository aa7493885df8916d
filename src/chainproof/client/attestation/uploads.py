"""Evidence files to the organisation's CAS, or into the attestation for an inline backend."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from chainproof.client.cas import Progress
    from chainproof.client.http import ApiClient
    from chainproof.core.digest import Digest
    from chainproof.core.materials.base import CraftedMaterial

__all__ = ["embed", "stream_artifact", "upload"]


def stream_artifact(
    api: ApiClient, run_id: str, path: Path, progress: Callable[[int], Progress | None] | None
) -> tuple[Digest, int] | None:
    """Upload the file at ``path`` for the run, hashed while it is sent: its digest and size;
    None (nothing sent) when it is small or the upload backend wants the digest first."""
    from chainproof.client import cas

    size = path.stat().st_size
    grant = api.cas_upload_token(run_id)
    if not cas.streams(grant, size):
        return None
    backend = grant.get("backend") or {}
    return cas.upload_streamed(
        grant["url"],
        grant["token"],
        path,
        progress=progress(size) if progress else None,
        api=api,
        max_size=backend.get("max_blob_size"),
    )


def upload(
    api: ApiClient,
    run_id: str,
    crafted: list[CraftedMaterial],
    progress: Callable[[int], Progress | None] | None,
) -> list[CraftedMaterial]:
    """Send the files among ``crafted`` to the CAS; ``crafted``, with the files embedded
    instead when the organisation's upload target is an ``inline`` backend."""
    files = [c for c in crafted if c.upload_path]
    if not files:
        return crafted
    from chainproof.client import cas

    grant = api.cas_upload_token(run_id)
    backend = grant.get("backend") or {}
    max_size = backend.get("max_blob_size")
    if backend.get("provider") == "inline":
        return embed(crafted, str(backend.get("name")), int(max_size or 0))
    for c in files:
        assert c.upload_path is not None
        callback = progress(c.size) if progress else None
        cas.upload(
            grant["url"],
            grant["token"],
            c.upload_path,
            c.digest,
            progress=callback,
            api=api,
            max_size=max_size,
        )
    return crafted


def embed(crafted: list[CraftedMaterial], backend: str, cap: int) -> list[CraftedMaterial]:
    """The files among ``crafted`` with their bytes (base64) as ``content``, for an inline
    backend; TooLarge for any file over ``cap`` before anything is embedded."""
    from chainproof.errors import TooLarge

    for c in crafted:
        if c.upload_path is not None and c.size > cap:
            raise TooLarge(
                f"{c.filename or c.name} is {c.size} bytes: the organisation's CAS backend "
                f"{backend!r} is inline and embeds at most {cap} bytes in the attestation",
                hint="ask an admin to make a blob store the default (chainproof cas-backend "
                "add oci|s3|azure-blob|fs ... --default) or to raise the inline cap "
                f"(chainproof cas-backend update --name {backend} --max-size SIZE, at most 2MB)",
                max_blob_size=cap,
            )
    out = []
    for c in crafted:
        if c.upload_path is None:
            out.append(c)
            continue
        data = c.upload_path.read_bytes()
        if c.digest.algorithm != "sha256" or hashlib.sha256(data).hexdigest() != c.digest.hex:
            raise MaterialError(
                f"{c.upload_path} changed after it was validated",
                hint="add it again once nothing writes to it",
            )
        content = base64.b64encode(data).decode()
        out.append(dataclasses.replace(c, content=content, upload_path=None))
    return out
