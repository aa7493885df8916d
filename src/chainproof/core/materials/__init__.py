"""Evidence kinds: one module per kind, each a :class:`MaterialHandler`, found through a registry.

Handlers are registered by dotted path in :data:`HANDLERS` and imported on first use, so that
``import chainproof.core.materials`` stays cheap however many kinds exist; each handler also
imports its heavy validators (cyclonedx, spdx-tools, jsonschema) inside ``craft``.

Adding a kind: write ``<kind>.py`` with a class that has ``kind``, ``accepts`` and ``craft``,
add it to :data:`HANDLERS`, and to :data:`DETECTION_ORDER` if it can be recognised from content.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from chainproof.core.kinds import MaterialKind
from chainproof.core.materials.base import CraftedMaterial, MaterialHandler
from chainproof.errors import MaterialError

__all__ = [
    "DETECTION_ORDER",
    "HANDLERS",
    "CraftedMaterial",
    "MaterialHandler",
    "craft",
    "detect_kind",
    "handler_for",
    "supported_kinds",
]

_HANDLERS: dict[MaterialKind, str] = {
    MaterialKind.STRING: "chainproof.core.materials.string:StringHandler",
    MaterialKind.ARTIFACT: "chainproof.core.materials.artifact:ArtifactHandler",
    MaterialKind.EVIDENCE: "chainproof.core.materials.evidence:EvidenceHandler",
    MaterialKind.CONTAINER_IMAGE: "chainproof.core.materials.container_image:ContainerImageHandler",
    MaterialKind.SBOM_CYCLONEDX_JSON: (
        "chainproof.core.materials.sbom_cyclonedx_json:CycloneDXJsonHandler"
    ),
    MaterialKind.SBOM_SPDX_JSON: "chainproof.core.materials.sbom_spdx_json:SpdxJsonHandler",
    MaterialKind.SARIF: "chainproof.core.materials.sarif:SarifHandler",
    MaterialKind.JUNIT_XML: "chainproof.core.materials.junit_xml:JUnitXmlHandler",
    MaterialKind.JACOCO_XML: "chainproof.core.materials.jacoco_xml:JacocoXmlHandler",
    MaterialKind.COBERTURA_XML: "chainproof.core.materials.cobertura_xml:CoberturaXmlHandler",
}
HANDLERS: dict[str, str] = {str(kind): target for kind, target in _HANDLERS.items()}
"""Kind name -> ``module:Class`` of its handler. Kinds of :class:`MaterialKind` not listed
here are known but not supported yet."""

DETECTION_ORDER: tuple[str, ...] = (
    "SBOM_CYCLONEDX_JSON",  # JSON file with bomFormat "CycloneDX"
    "SBOM_SPDX_JSON",  # JSON file with spdxVersion "SPDX-..."
    "JUNIT_XML",  # XML file whose root element is <testsuites> or <testsuite>
    "JACOCO_XML",  # XML root <report> with JaCoCo's DOCTYPE/<sessioninfo>/<counter>/<package>
    "COBERTURA_XML",  # XML root <coverage> (Clover reports too: craft rejects them by name)
    "SARIF",  # JSON with "runs" and a $schema naming SARIF, or version "2.1.0"
    "CONTAINER_IMAGE",  # repo[:tag]@sha256:<hex>, and no file of that name exists
    "EVIDENCE",  # JSON file holding an evidence envelope {"id", "data", "schema"?}
    "ARTIFACT",  # any other existing path (craft rejects directories and empty files)
    "STRING",  # anything else that is not empty
)
"""The order in which :func:`detect_kind` asks each handler's ``accepts``: strict formats
first, the catch-alls last (as Chainloop does). The first handler that accepts wins."""

if TYPE_CHECKING:  # mypy proves every registered class implements MaterialHandler
    from chainproof.core.materials.artifact import ArtifactHandler
    from chainproof.core.materials.cobertura_xml import CoberturaXmlHandler
    from chainproof.core.materials.container_image import ContainerImageHandler
    from chainproof.core.materials.evidence import EvidenceHandler
    from chainproof.core.materials.jacoco_xml import JacocoXmlHandler
    from chainproof.core.materials.junit_xml import JUnitXmlHandler
    from chainproof.core.materials.sarif import SarifHandler
    from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
    from chainproof.core.materials.sbom_spdx_json import SpdxJsonHandler
    from chainproof.core.materials.string import StringHandler

    _IMPLEMENTATIONS: tuple[MaterialHandler, ...] = (
        StringHandler(),
        ArtifactHandler(),
        EvidenceHandler(),
        ContainerImageHandler(),
        CycloneDXJsonHandler(),
        SpdxJsonHandler(),
        SarifHandler(),
        JUnitXmlHandler(),
        JacocoXmlHandler(),
        CoberturaXmlHandler(),
    )

_instances: dict[str, MaterialHandler] = {}


def supported_kinds() -> list[str]:
    """The kinds that have a handler, in :data:`HANDLERS` order."""
    return list(HANDLERS)


def handler_for(kind: str) -> MaterialHandler:
    """The handler of ``kind`` (case-insensitive).

    Raises MaterialError naming the supported kinds when ``kind`` is unknown or not
    supported yet.
    """
    key = kind.strip().upper()
    handler = _instances.get(key)
    if handler is not None:
        return handler
    target = HANDLERS.get(key)
    if target is None:
        supported = ", ".join(HANDLERS)
        if key in MaterialKind.__members__:
            raise MaterialError(
                f"evidence kind {key} is not supported yet; supported kinds: {supported}",
                hint="add the file as ARTIFACT or EVIDENCE meanwhile",
            )
        raise MaterialError(
            f"unknown evidence kind {kind!r}; supported kinds: {supported}",
        )
    module_name, _, class_name = target.partition(":")
    created: MaterialHandler = getattr(importlib.import_module(module_name), class_name)()
    _instances[key] = created
    return created


def detect_kind(value: str) -> str:
    """The first kind in :data:`DETECTION_ORDER` whose handler accepts ``value``.

    Detection only recognises a format; it does not validate it, so a broken CycloneDX file is
    detected as SBOM_CYCLONEDX_JSON and :func:`craft` then says what is wrong with it.
    Raises MaterialError when nothing accepts the value (an empty string).
    """
    for kind in DETECTION_ORDER:
        if handler_for(kind).accepts(value):
            return kind
    raise MaterialError("cannot detect the kind of an empty value", hint="pass --value")


def craft(name: str, value: str, kind: str | None = None) -> CraftedMaterial:
    """Validate ``value`` as evidence of ``kind`` (detected when None) and return it crafted.

    Raises MaterialError with a kind-specific reason when the value is not valid evidence.
    """
    chosen = detect_kind(value) if kind is None else kind
    return handler_for(chosen).craft(name, value)
