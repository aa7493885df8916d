"""OCI export kind: a pushed run's attestation bundle stored next to its container images.

For each ``CONTAINER_IMAGE`` material of the run whose repository is on the configured
``registry``, the bundle (and, with ``materials``, the run's stored materials) is pushed to
the image's own repository as an OCI artifact manifest (image-spec v1.1 artifact guidance):
artifactType :data:`ARTIFACT_TYPE`, the empty config, one layer per file (the bundle's layer
typed with the bundle's own ``mediaType``), ``subject`` = the image, and tagged with the
referrers tag scheme ``sha256-<image hex>.att``, so that registry tools (oras, crane, ...)
find it by the image digest even where the registry lacks the referrers API. A later run of
the same image adds its layers to the manifest under the tag (a layer already there is not
added twice, so a retried delivery changes nothing); a tag that holds another tool's
manifest (cosign's attestations) is left alone and the attempt fails, naming it.

Blobs and manifests go through the OCI CAS backend's client (cas/oci.py): basic or bearer
auth with ``username`` and the integration's secret as password; plain HTTP only on
loopback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chainproof.integrations import Event, MaterialRef, Outcome

ARTIFACT_TYPE = "application/vnd.chainproof.attestation.v1"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
TITLE = "org.opencontainers.image.title"
IMAGE_KIND = "CONTAINER_IMAGE"
_HOST = re.compile(r"^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$")
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


class OciExportConfig(BaseModel):
    """The registry whose images are exported to, and what goes there."""

    model_config = ConfigDict(extra="forbid")
    registry: str = Field(
        description="Registry host[:port] (e.g. ghcr.io); images elsewhere are skipped."
    )
    username: str | None = Field(
        None, description="Registry user name (the password or token is the secret)."
    )
    materials: bool = Field(False, description="Also push the run's stored materials.")

    @field_validator("registry")
    @classmethod
    def _host(cls, value: str) -> str:
        host = value.strip().lower()
        if not _HOST.match(host):
            raise ValueError("a registry host[:port], without scheme or path")
        return "registry-1.docker.io" if host in _DOCKER_HUB else host


def tag_of(digest: str) -> str:
    """The referrers tag scheme's tag of an image digest: ``sha256-<hex>.att``."""
    algorithm, _, hexa = digest.partition(":")
    return f"{algorithm}-{hexa}.att"


class OciExport:
    name = "oci-export"
    description = (
        "Push each pushed run's attestation bundle next to its container images "
        "(tag sha256-<digest>.att)."
    )
    config = OciExportConfig
    stdin_help: str | None = "the registry password or token (with `username`)"
    event_types = ("run.succeeded", "run.blocked")

    def endpoints(self, config: BaseModel, secret: str | None) -> list[str]:
        assert isinstance(config, OciExportConfig)
        scheme = "http" if _LOOPBACK.match(config.registry) else "https"
        return [f"{scheme}://{config.registry}"]

    def deliver(
        self, config: BaseModel, secret: str | None, event: Event, timeout: float
    ) -> Outcome:
        assert isinstance(config, OciExportConfig)
        content = event.content
        if content is None:
            return Outcome(False, None, "this worker cannot read the run's evidence (no CAS)")
        found = content.materials()
        images = [m for m in found if _on(m, config.registry)]
        bundle = content.bundle()
        if not images or bundle is None:
            return Outcome(True, None)  # nothing of this run lives on that registry
        run = str(event.data.get("run_id", event.subject))
        # File names (oras pulls by title) carry the run: several runs share one manifest.
        files = [(bundle, _bundle_type(bundle), {TITLE: f"{run}.sigstore.json"})]
        if config.materials:
            files += [
                (content.read(m), "application/octet-stream", _material_annotations(m, run))
                for m in found
                if m.stored and m.kind != IMAGE_KIND
            ]
        for image in images:
            _export(config, secret, image, files, run, timeout)
        return Outcome(True, 201)


def repository_of(material: MaterialRef) -> str | None:
    """``host/path`` of an image material (its summary, else its file name)."""
    found = material.summary.get("repository") or material.filename
    return str(found) if found else None


def _on(material: MaterialRef, registry: str) -> bool:
    from chainproof.oci.registry import split_repository

    repository = repository_of(material)
    if material.kind != IMAGE_KIND or not repository or not material.digest.startswith("sha256:"):
        return False
    return split_repository(repository)[0].lower() == registry


def _bundle_type(bundle: bytes) -> str:
    try:
        found = json.loads(bundle).get("mediaType")
    except (ValueError, AttributeError):
        found = None
    return found if isinstance(found, str) and found else BUNDLE_TYPE


def _material_annotations(material: MaterialRef, run: str) -> dict[str, str]:
    title = (material.filename or material.name).rsplit("/", 1)[-1] or material.name
    return {
        TITLE: f"{run}-{title}",
        "dev.chainproof.material.name": material.name,
        "dev.chainproof.material.kind": material.kind,
    }


def _export(
    config: OciExportConfig,
    secret: str | None,
    image: MaterialRef,
    files: list[tuple[bytes, str, dict[str, str]]],
    run: str,
    timeout: float,
) -> None:
    """Push ``files`` and the manifest that names them to the image's repository."""
    from chainproof.cas.oci import OciBackend
    from chainproof.core.digest import Digest
    from chainproof.errors import NotFound
    from chainproof.oci.registry import Credentials

    repository = repository_of(image)
    assert repository is not None
    credentials = Credentials(config.username or "chainproof", secret) if secret else None
    with OciBackend(repository, credentials=credentials, retries=0, timeout=timeout) as registry:
        subject = registry.describe(image.digest)
        if subject is None:
            raise NotFound(f"image {repository}@{image.digest} is not in its registry")
        layers: list[dict[str, Any]] = []
        for data, media_type, annotations in files:
            digest = Digest.of_bytes(data)
            registry.upload(digest, [data], size=len(data))
            notes = {**annotations, "dev.chainproof.run": run}
            layers.append(
                {
                    "mediaType": media_type,
                    "digest": str(digest),
                    "size": len(data),
                    "annotations": notes,
                }
            )
        tag = tag_of(image.digest)
        document = _manifest(_previous(registry, tag, repository), layers, subject)
        registry.put_manifest(tag, document)


def _previous(registry: Any, tag: str, repository: str) -> list[dict[str, Any]]:
    """The layers already under ``tag`` (ours); ServiceError when another tool's are there."""
    from chainproof.errors import ServiceError

    found = registry.manifest(tag)
    if found is None:
        return []
    doc = json.loads(found[1])
    if doc.get("artifactType") != ARTIFACT_TYPE:
        raise ServiceError(
            f"{repository}:{tag} holds another tool's manifest (cosign attestations?): "
            "not overwritten",
            hint="cosign keeps its attestations under the same tag: leave this image out of "
            "the export (another `registry`) or move cosign to the referrers API",
        )
    return [layer for layer in doc.get("layers", []) if isinstance(layer, dict)]


def _manifest(previous: list[dict[str, Any]], layers: list[dict[str, Any]], subject: Any) -> bytes:
    from chainproof.cas._oci_wire import EMPTY_CONFIG, EMPTY_CONFIG_DIGEST, OCI_MANIFEST

    added = list(previous)
    known = {layer.get("digest") for layer in previous}
    for layer in layers:  # each file once, whichever run brought it first
        if layer["digest"] not in known:
            known.add(layer["digest"])
            added.append(layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": str(EMPTY_CONFIG_DIGEST),
            "size": len(EMPTY_CONFIG),
            "data": "e30=",
        },
        "layers": added,
        "subject": {
            "mediaType": subject.media_type,
            "digest": str(subject.digest),
            "size": subject.size,
        },
    }
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


KIND = OciExport()
