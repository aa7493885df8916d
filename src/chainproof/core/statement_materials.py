"""The materials of a chainproof predicate, read back: :class:`MaterialDescriptor`.

What ``render_statement`` writes for each material (an in-toto ResourceDescriptor with
``chainproof.material.*`` annotations), parsed once and checked, so that the control plane
and the CLI read one typed value instead of re-reading the JSON. Re-exported by
:mod:`chainproof.core.statement`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.errors import InvalidInput

__all__ = [
    "ANNOTATION_PREFIX",
    "CAS_ANNOTATION",
    "FILENAME_ANNOTATION",
    "INLINE_ANNOTATION",
    "KIND_ANNOTATION",
    "NAME_ANNOTATION",
    "OUTPUT_ANNOTATION",
    "SIZE_ANNOTATION",
    "SUMMARY_ANNOTATION",
    "MaterialDescriptor",
    "malformed",
]

ANNOTATION_PREFIX = "chainproof.material."
# The annotations chainproof writes on a material's descriptor (statement._descriptor).
NAME_ANNOTATION = ANNOTATION_PREFIX + "name"
KIND_ANNOTATION = ANNOTATION_PREFIX + "kind"
SIZE_ANNOTATION = ANNOTATION_PREFIX + "size"
CAS_ANNOTATION = ANNOTATION_PREFIX + "cas"
OUTPUT_ANNOTATION = ANNOTATION_PREFIX + "output"
INLINE_ANNOTATION = ANNOTATION_PREFIX + "inline"
FILENAME_ANNOTATION = ANNOTATION_PREFIX + "filename"
SUMMARY_ANNOTATION = ANNOTATION_PREFIX + "summary"


_MALFORMED_HINT = "a chainproof statement's materials are as `attestation push` writes them"


def malformed(message: str) -> InvalidInput:
    """InvalidInput for a malformed material entry, with the hint that goes with it."""
    return InvalidInput(message, hint=_MALFORMED_HINT)


@dataclass(frozen=True)
class MaterialDescriptor:
    """One material of a chainproof predicate as signed: the ResourceDescriptor that
    :func:`chainproof.core.statement._descriptor` writes, read back. Build with :meth:`parse`.

    ``digest`` is the descriptor's sha256 (else its first algorithm by name); ``content`` is
    the decoded ``content``: a STRING material's value, or a file held in the attestation
    (``inline``: the organisation's CAS backend is ``inline``). ``in_cas``: the bytes were
    uploaded to the organisation's CAS. Whether ``content`` hashes to ``digest`` is for the
    reader to check: a mismatch is a failed verification, not a malformed entry.
    ``annotations`` are all of them, chainproof's own included.
    """

    name: str
    kind: str
    digest: Digest
    size: int | None = None
    filename: str | None = None
    content: bytes | None = None
    inline: bool = False
    in_cas: bool = False
    output: bool = False
    summary: Mapping[str, Any] | None = None
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def value(self) -> str | None:
        """A STRING material's value: ``content`` as UTF-8 text, unless it is a file held
        inline or not text (None then, as when there is no content)."""
        if self.content is None or self.inline:
            return None
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @classmethod
    def parse(cls, item: Any, index: int = 0) -> MaterialDescriptor:
        """Read the predicate's material entry number ``index``; InvalidInput when it is
        malformed (not an object, no name, a missing or invalid digest, annotations that are
        not strings, a flag other than true/false, a size that is not a count, a summary
        that is not a JSON object, content that is not base64)."""
        if not isinstance(item, Mapping):
            raise malformed(f"material {index} of the statement is not an object")
        annotations = item.get("annotations") or {}
        if not isinstance(annotations, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise malformed(f"material {index} of the statement has annotations not all text")
        name = annotations.get(NAME_ANNOTATION) or item.get("name")
        if not isinstance(name, str) or not name:
            raise malformed(f"material {index} of the statement has no name")
        where = f"material {name!r}"
        filename = annotations.get(FILENAME_ANNOTATION)
        return cls(
            name=name,
            kind=annotations.get(KIND_ANNOTATION) or "ARTIFACT",
            digest=_material_digest(item.get("digest"), where),
            size=_size(annotations.get(SIZE_ANNOTATION), where),
            filename=filename or None,
            content=_content(item.get("content"), where),
            inline=_flag(annotations, INLINE_ANNOTATION, where),
            in_cas=_flag(annotations, CAS_ANNOTATION, where),
            output=_flag(annotations, OUTPUT_ANNOTATION, where),
            summary=_summary(annotations.get(SUMMARY_ANNOTATION), where),
            annotations=MappingProxyType(dict(annotations)),
        )


def _material_digest(digests: Any, where: str) -> Digest:
    if not isinstance(digests, Mapping) or not digests:
        raise malformed(f"{where} has no digest")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items()):
        raise malformed(f"{where} has a malformed digest")
    algorithm = "sha256" if "sha256" in digests else sorted(digests)[0]
    try:
        return Digest(algorithm, digests[algorithm])
    except InvalidInput as err:
        raise malformed(f"{where}: {err.message}") from None


def _flag(annotations: Mapping[str, str], key: str, where: str) -> bool:
    text = annotations.get(key, "false").lower()
    if text not in ("true", "false"):
        raise malformed(f"{where}: annotation {key} is {text!r}, not true or false")
    return text == "true"


def _size(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not text.isascii():
        raise malformed(f"{where}: its size {text!r} is not a number of bytes")
    return int(text)


def _summary(text: str | None, where: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        data = jsonload.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise malformed(f"{where}: its summary is not a JSON object")
    return data


def _content(raw: Any, where: str) -> bytes | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise malformed(f"{where}: its content is not base64 text")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise malformed(f"{where}: its content is not valid base64") from None
