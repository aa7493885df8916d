"""CONTAINER_IMAGE: an OCI image pinned by its manifest digest.

The reference follows the OCI distribution grammar (distribution/reference, ``regexp.go``)::

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [domain "/"] path-component ["/" path-component]*
    domain     := host [":" port]          host := domain-name | "[" IPv6 "]"
    path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
    tag        := [\\w][\\w.-]{0,127}
    digest     := algorithm ":" hex         (sha256: 64 hex, sha512: 128 hex)

The digest in the reference is the evidence: nothing is uploaded (the image lives in its
registry). Tag-only references need the registry to resolve them, which is not implemented
yet, so they are refused with a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core.digest import Digest
from chainproof.core.materials._common import ANNOTATION_PREFIX
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import InvalidInput, MaterialError

TAG_ANNOTATION = ANNOTATION_PREFIX + "image.tag"

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
    """Records repository, tag and manifest digest of a digest-pinned image reference."""

    kind: ClassVar[str] = "CONTAINER_IMAGE"

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
        """Raises MaterialError for an invalid or tag-only (unpinned) reference."""
        ref = parse_reference(value)
        if ref.digest is None:
            raise MaterialError(
                f"CONTAINER_IMAGE: {value!r} is not pinned to a digest; pass a digest-pinned "
                f"reference such as {ref.repository}"
                + (f":{ref.tag}" if ref.tag else "")
                + "@sha256:<digest>",
                hint="resolving tags from the registry is not supported yet; get the digest "
                "with `docker buildx imagetools inspect` or `crane digest`",
            )
        annotations: dict[str, str] = {}
        summary: dict[str, Any] = {
            "repository": ref.repository,
            "tag": ref.tag,
            "digest": str(ref.digest),
        }
        if ref.tag:
            annotations[TAG_ANNOTATION] = ref.tag
        return CraftedMaterial(
            name=name,
            kind=self.kind,
            digest=ref.digest,
            size=0,
            filename=ref.repository,
            annotations=annotations,
            summary=summary,
        )
