"""CONTAINER_IMAGE: an OCI image pinned by its manifest digest.

The reference follows the OCI distribution grammar (distribution/reference, ``regexp.go``)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [domain "/"] path-component ["/" path-component]*
    domain     := host [":" port]          host := domain-name | "[" IPv6 "]"
    path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex         (sha256: 64 hex, sha512: 128 hex)

The manifest digest is the evidence: nothing is uploaded (the image lives in its registry).
A digest-pinned reference needs no network. A tag is resolved through an
:class:`ImageResolver` the caller hands in (the OCI client package's ``RegistryImageResolver``
asks the registry): this module does no I/O itself. The same lookups tell whether the tag is
``latest``'s and find a signature: cosign's ``sha256-<hex>.sig`` tag, else an OCI referrer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from chainproof.core.digest import Digest
from chainproof.core.materials._common import ANNOTATION_PREFIX
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import ChainproofError, InvalidInput, MaterialError, NotFound

TAG_ANNOTATION = ANNOTATION_PREFIX + "image.tag"
LATEST_ANNOTATION = ANNOTATION_PREFIX + "image.is_latest_tag"
MEDIA_TYPE_ANNOTATION = ANNOTATION_PREFIX + "image.media_type"
SIGNATURE_ANNOTATION = ANNOTATION_PREFIX + "signature.digest"
SIGNATURE_PROVIDER_ANNOTATION = ANNOTATION_PREFIX + "signature.provider"

NAME_MAX = 255
"""distribution/reference's limit on the length of the name part."""

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed reference; ``digest`` is None for a tag-only reference."""

    repository: str
    tag: str | None
    digest: Digest | None

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


@dataclass(frozen=True, slots=True)
class ImageManifest:
    """What a registry says about a manifest."""

    digest: Digest
    media_type: str
    size: int


class ImageResolver(Protocol):
    """Read access to image registries, for references that name a tag.

    ``repository`` is a reference's repository as written (``host[:port]/path``, or a
    Docker Hub short name). Both methods raise a ChainproofError whose message says what
    went wrong when the registry cannot answer (unreachable, refused).
    """

    def resolve(self, repository: str, reference: str) -> ImageManifest:
        """The manifest ``reference`` (a tag or digest) names; NotFound when there is none."""
        ...

    def referrers(self, repository: str, digest: Digest) -> list[dict[str, Any]]:
        """Descriptors of the manifests whose subject is ``digest`` (OCI referrers)."""
        ...


def parse_reference(value: str) -> ImageReference:
    """Parse an image reference by the OCI distribution grammar.

    Raises MaterialError when ``value`` is not a reference, naming what is wrong.
    """
    text = value.strip()
    match = _REFERENCE.fullmatch(text)
    if match is None:
        raise MaterialError(
            f"CONTAINER_IMAGE: {value!r} is not a valid image reference: {_why_invalid(text)}",
            hint="write it as registry.example.com/repo@sha256:<64 hex characters>",
        )
    name, tag, digest_text = match.groups()
    if len(name) > NAME_MAX:
        raise MaterialError(
            f"CONTAINER_IMAGE: repository name is {len(name)} characters; the limit is {NAME_MAX}"
        )
    digest: Digest | None = None
    if digest_text:
        try:
            digest = Digest.parse(digest_text)
        except InvalidInput as exc:
            raise MaterialError(
                f"CONTAINER_IMAGE: {value!r} has an unsupported digest: {exc.message}",
                hint="image digests look like sha256:<64 lowercase hex characters>",
            ) from exc
        if digest_text != str(digest):
            raise MaterialError(
                f"CONTAINER_IMAGE: {value!r}: the digest must be lowercase ({digest})"
            )
    return ImageReference(repository=name, tag=tag, digest=digest)


def _why_invalid(text: str) -> str:
    """A best-effort reason for a reference that does not match the grammar."""
    if not text:
        return "it is empty"
    if any(c.isspace() for c in text):
        return "it contains whitespace"
    if "://" in text:
        return "it looks like a URL; drop the scheme"
    name = text.split("@", 1)[0]
    first, _, rest = name.partition("/")
    path = rest if rest and ("." in first or ":" in first or first == "localhost") else name
    head, _, last = path.rpartition("/")
    path = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    if any(c.isupper() for c in path):
        return "repository names must be lowercase"
    if "@" in text and not re.fullmatch(_DIGEST, text.split("@", 1)[1]):
        return "the part after '@' is not a digest (algorithm:hex)"
    return "it does not follow the OCI distribution reference grammar"


class ContainerImageHandler:
    """Records repository, tag and manifest digest of an image reference; a tag is resolved
    through ``images`` (without one, only digest-pinned references are accepted)."""

    kind: ClassVar[str] = "CONTAINER_IMAGE"

    def __init__(self, images: ImageResolver | None = None) -> None:
        self.images = images

    def accepts(self, value: str) -> bool:
        """A digest-pinned reference that is not also the path of an existing file."""
        try:
            ref = parse_reference(value)
        except MaterialError:
            return False
        if ref.digest is None:
            return False
        try:
            return not Path(value).exists()
        except (OSError, ValueError):
            return True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for an invalid reference or one that cannot be resolved.

        A digest-pinned reference is recorded as it is. A tag-only reference is resolved to
        its manifest digest by the resolver, which also tells whether the tag is ``latest``'s
        and whether a signature is attached.
        """
        ref = parse_reference(value)
        annotations: dict[str, str] = {}
        summary: dict[str, Any] = {"repository": ref.repository, "tag": ref.tag}
        digest = ref.digest
        if digest is None:
            digest, found = _resolve(ref, self.images)
            annotations.update(found)
            summary["resolved"] = True
        summary["digest"] = str(digest)
        if ref.tag:
            annotations[TAG_ANNOTATION] = ref.tag
        return CraftedMaterial(
            name=name,
            kind=self.kind,
            digest=digest,
            size=0,
            filename=ref.repository,
            annotations=annotations,
            summary=summary,
        )


def _resolve(ref: ImageReference, images: ImageResolver | None) -> tuple[Digest, dict[str, str]]:
    """The manifest digest of a tag, plus latest-tag, media-type and signature annotations."""
    if images is None:
        raise MaterialError(
            f"CONTAINER_IMAGE: {ref} names a tag, and resolving it needs the registry",
            hint="pass a digest-pinned reference (repo@sha256:...), or add it with "
            "`chainproof attestation add`, which asks the registry",
        )
    tag = ref.tag or "latest"
    try:
        manifest = images.resolve(ref.repository, tag)
        latest = manifest if tag == "latest" else _find(images, ref.repository, "latest")
        signature, provider = _signature(images, ref.repository, manifest.digest)
    except ChainproofError as err:
        raise MaterialError(
            f"CONTAINER_IMAGE: cannot resolve {ref}: {err.message}",
            hint=err.hint or "pass a digest-pinned reference (repo@sha256:...) to skip the lookup",
        ) from None
    found = {
        LATEST_ANNOTATION: "true" if latest and latest.digest == manifest.digest else "false",
        MEDIA_TYPE_ANNOTATION: manifest.media_type,
    }
    if signature is not None:
        found[SIGNATURE_ANNOTATION] = str(signature)
        found[SIGNATURE_PROVIDER_ANNOTATION] = provider
    return manifest.digest, found


def _find(images: ImageResolver, repository: str, reference: str) -> ImageManifest | None:
    try:
        return images.resolve(repository, reference)
    except NotFound:
        return None


SIGNATURE_ARTIFACT_TYPES = {
    "application/vnd.dev.cosign.artifact.sig.v1+json": "cosign",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "cosign",  # cosign 3 / sigstore bundles
    "application/vnd.cncf.notary.signature": "notation",
}
"""Artifact types of OCI referrers that are signatures of their subject, and who made them."""


def _signature(images: ImageResolver, repository: str, digest: Digest) -> tuple[Digest | None, str]:
    """The digest of the image's signature and its provider: cosign's ``<alg>-<hex>.sig`` tag,
    else the first signature among the image's OCI referrers."""
    cosign = _find(images, repository, f"{digest.algorithm}-{digest.hex}.sig")
    if cosign is not None:
        return cosign.digest, "cosign"
    for desc in images.referrers(repository, digest):
        provider = SIGNATURE_ARTIFACT_TYPES.get(str(desc.get("artifactType", "")))
        if provider and isinstance(desc.get("digest"), str):
            return Digest.parse(desc["digest"]), provider
    return None, "cosign"
