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
    MaterialKind.GITLAB_SECURITY_REPORT: (
        "chainproof.core.materials.gitlab_security_report:GitlabSecurityReportHandler"
    ),
    MaterialKind.GHAS_CODE_SCAN: "chainproof.core.materials.ghas:GhasCodeScanHandler",
    MaterialKind.GHAS_SECRET_SCAN: "chainproof.core.materials.ghas:GhasSecretScanHandler",
    MaterialKind.GHAS_DEPENDENCY_SCAN: "chainproof.core.materials.ghas:GhasDependencyScanHandler",
    MaterialKind.GITLEAKS_JSON: "chainproof.core.materials.gitleaks_json:GitleaksJsonHandler",
    MaterialKind.TRUFFLEHOG_JSON: "chainproof.core.materials.trufflehog_json:TrufflehogJsonHandler",
    MaterialKind.YELP_DETECT_SECRETS_BASELINE: (
        "chainproof.core.materials.detect_secrets_baseline:DetectSecretsBaselineHandler"
    ),
    MaterialKind.SBOM_CYCLONEDX_XML: (
        "chainproof.core.materials.sbom_cyclonedx_xml:CycloneDXXmlHandler"
    ),
    MaterialKind.CSAF_VEX: "chainproof.core.materials.csaf:CsafVexHandler",
    MaterialKind.CSAF_INFORMATIONAL_ADVISORY: (
        "chainproof.core.materials.csaf:CsafInformationalAdvisoryHandler"
    ),
    MaterialKind.CSAF_SECURITY_ADVISORY: (
        "chainproof.core.materials.csaf:CsafSecurityAdvisoryHandler"
    ),
    MaterialKind.CSAF_SECURITY_INCIDENT_RESPONSE: (
        "chainproof.core.materials.csaf:CsafSecurityIncidentResponseHandler"
    ),
    MaterialKind.OPENVEX: "chainproof.core.materials.openvex:OpenVexHandler",
    MaterialKind.BLACKDUCK_SCA_JSON: (
        "chainproof.core.materials.blackduck_sca_json:BlackduckScaJsonHandler"
    ),
    MaterialKind.TWISTCLI_SCAN_JSON: (
        "chainproof.core.materials.twistcli_scan_json:TwistcliScanJsonHandler"
    ),
    MaterialKind.CHECKMARX_JSON: "chainproof.core.materials.checkmarx_json:CheckmarxJsonHandler",
    MaterialKind.OSSF_SCORECARD_JSON: (
        "chainproof.core.materials.ossf_scorecard_json:OssfScorecardJsonHandler"
    ),
    MaterialKind.ZAP_DAST_ZIP: "chainproof.core.materials.zap_dast_zip:ZapDastZipHandler",
    MaterialKind.SLSA_PROVENANCE: (
        "chainproof.core.materials.slsa_provenance:SlsaProvenanceHandler"
    ),
    MaterialKind.ATTESTATION: "chainproof.core.materials.attestation:AttestationHandler",
    MaterialKind.OPENAPI_SPEC: "chainproof.core.materials.openapi_spec:OpenApiSpecHandler",
    MaterialKind.ASYNCAPI_SPEC: "chainproof.core.materials.asyncapi_spec:AsyncApiSpecHandler",
    MaterialKind.GRAPHQL_SPEC: "chainproof.core.materials.graphql_spec:GraphqlSpecHandler",
    MaterialKind.HELM_CHART: "chainproof.core.materials.helm_chart:HelmChartHandler",
    MaterialKind.RUNNER_CONTEXT: "chainproof.core.materials.runner_context:RunnerContextHandler",
    MaterialKind.PR_INFO: "chainproof.core.materials.pr_info:PrInfoHandler",
    MaterialKind.CHAINLOOP_AI_AGENT_CONFIG: (
        "chainproof.core.materials.chainloop_ai:AiAgentConfigHandler"
    ),
    MaterialKind.CHAINLOOP_AI_CODING_SESSION: (
        "chainproof.core.materials.chainloop_ai:AiCodingSessionHandler"
    ),
    MaterialKind.SYSINTERNALS_SIGCHECK: "chainproof.core.materials.sysinternals:SigcheckHandler",
    MaterialKind.SYSINTERNALS_ACCESSCHK: "chainproof.core.materials.sysinternals:AccesschkHandler",
    MaterialKind.CERTCC_DRANZER: "chainproof.core.materials.dranzer:DranzerHandler",
    MaterialKind.RADAMSA_REPORT: "chainproof.core.materials.radamsa:RadamsaReportHandler",
    MaterialKind.RADAMSA_CRASHES: "chainproof.core.materials.radamsa:RadamsaCrashesHandler",
}
HANDLERS: dict[str, str] = {str(kind): target for kind, target in _HANDLERS.items()}
"""Kind name -> ``module:Class`` of its handler. Kinds of :class:`MaterialKind` not listed
here are known but not supported yet."""

STRICT_FORMATS: tuple[str, ...] = (
    "OPENVEX",  # JSON object whose @context is https://openvex.dev/ns...
    "SBOM_CYCLONEDX_JSON",  # JSON file with bomFormat "CycloneDX" (head or tail)
    "SBOM_CYCLONEDX_XML",  # XML root <bom> in a http://cyclonedx.org/schema/bom/ namespace
    "SBOM_SPDX_JSON",  # JSON file with spdxVersion "SPDX-..."
    "CSAF_VEX",  # JSON document.csaf_version with document.category csaf_vex
    "CSAF_INFORMATIONAL_ADVISORY",  # ... csaf_informational_advisory
    "CSAF_SECURITY_ADVISORY",  # ... csaf_security_advisory
    "CSAF_SECURITY_INCIDENT_RESPONSE",  # ... csaf_security_incident_response
    "GITLAB_SECURITY_REPORT",  # JSON object with scan.type and a vulnerabilities array
    "GITLEAKS_JSON",  # JSON array of findings with RuleID and Fingerprint
    "TRUFFLEHOG_JSON",  # JSON lines, each a finding with DetectorName and SourceMetadata
    "YELP_DETECT_SECRETS_BASELINE",  # JSON object with version, plugins_used and results
    "GHAS_CODE_SCAN",  # JSON array of GitHub code-scanning alerts (rule, tool)
    "GHAS_SECRET_SCAN",  # JSON array of GitHub secret-scanning alerts (secret_type)
    "GHAS_DEPENDENCY_SCAN",  # JSON array of Dependabot alerts (dependency, security_advisory)
    "OSSF_SCORECARD_JSON",  # JSON object with scorecard.version, repo and checks
    "OPENAPI_SPEC",  # YAML/JSON with top-level openapi: 3.x or swagger: "2.0"
    "ASYNCAPI_SPEC",  # YAML/JSON with top-level asyncapi:
    "GRAPHQL_SPEC",  # .graphql/.gql/.graphqls file, or GraphQL SDL definitions
    "JUNIT_XML",  # XML file whose root element is <testsuites> or <testsuite>
    "JACOCO_XML",  # XML root <report> with JaCoCo's DOCTYPE/<sessioninfo>/<counter>/<package>
    "COBERTURA_XML",  # XML root <coverage> (Clover reports too: craft rejects them by name)
    "HELM_CHART",  # gzipped tar whose first entries include <chart>/Chart.yaml
    "SARIF",  # JSON with "runs" and a $schema naming SARIF, or version "2.1.0"
    "BLACKDUCK_SCA_JSON",  # JSON with detailedVulnerabilities and detailedCodeLocations
    "TWISTCLI_SCAN_JSON",  # JSON with results and consoleURL
    "ZAP_DAST_ZIP",  # zip holding ZAP's report_json.json
    "SLSA_PROVENANCE",  # DSSE envelope or Sigstore bundle of a slsa.dev/provenance statement
    "PR_INFO",  # JSON object with type pull_request/merge_request and both branches
    "RUNNER_CONTEXT",  # JSON object with schema_version and a runner object
    "CHAINLOOP_AI_AGENT_CONFIG",  # evidence envelope whose id is CHAINLOOP_AI_AGENT_CONFIG
    "CHAINLOOP_AI_CODING_SESSION",  # evidence envelope whose id is CHAINLOOP_AI_CODING_SESSION
    "SYSINTERNALS_SIGCHECK",  # CSV/TSV whose header row has the Path and Verified columns
    "SYSINTERNALS_ACCESSCHK",  # text opening with AccessChk's banner (not -nobanner output)
    "CERTCC_DRANZER",  # text with dranzer's COM object banner, counters or engine version
    "RADAMSA_REPORT",  # text with a `seed: N` line and a radamsa -M output line
    # RADAMSA_CRASHES (arbitrary bytes) and CHECKMARX_JSON (generic markers) are never detected
)
"""Kinds recognised by markers no other format has. A value at most one of them accepts."""

DETECTION_TIERS: tuple[tuple[str, ...], ...] = (
    STRICT_FORMATS,
    (
        "ATTESTATION",  # any DSSE envelope or Sigstore bundle (SLSA ones were taken above)
        "CONTAINER_IMAGE",  # repo[:tag]@sha256:<hex>, and no file of that name exists
    ),
    ("EVIDENCE",),  # JSON file holding an evidence envelope {"id", "data", "schema"?}
    ("ARTIFACT",),  # any other existing path (craft rejects directories and empty files)
    ("STRING",),  # anything else that is not empty
)
"""How :func:`detect_kind` recognises a value: strict formats first, then ever more
permissive tiers (as Chainloop does). Within a tier, a value two kinds accept is ambiguous."""

DETECTION_ORDER: tuple[str, ...] = tuple(kind for tier in DETECTION_TIERS for kind in tier)
"""Every detectable kind, in the order :func:`detect_kind` asks them."""

if TYPE_CHECKING:  # mypy proves every registered class implements MaterialHandler
    from chainproof.core.materials.artifact import ArtifactHandler
    from chainproof.core.materials.asyncapi_spec import AsyncApiSpecHandler
    from chainproof.core.materials.attestation import AttestationHandler
    from chainproof.core.materials.blackduck_sca_json import BlackduckScaJsonHandler
    from chainproof.core.materials.chainloop_ai import (
        AiAgentConfigHandler,
        AiCodingSessionHandler,
    )
    from chainproof.core.materials.checkmarx_json import CheckmarxJsonHandler
    from chainproof.core.materials.cobertura_xml import CoberturaXmlHandler
    from chainproof.core.materials.container_image import ContainerImageHandler, ImageResolver
    from chainproof.core.materials.csaf import (
        CsafInformationalAdvisoryHandler,
        CsafSecurityAdvisoryHandler,
        CsafSecurityIncidentResponseHandler,
        CsafVexHandler,
    )
    from chainproof.core.materials.detect_secrets_baseline import DetectSecretsBaselineHandler
    from chainproof.core.materials.dranzer import DranzerHandler
    from chainproof.core.materials.evidence import EvidenceHandler
    from chainproof.core.materials.ghas import (
        GhasCodeScanHandler,
        GhasDependencyScanHandler,
        GhasSecretScanHandler,
    )
    from chainproof.core.materials.gitlab_security_report import GitlabSecurityReportHandler
    from chainproof.core.materials.gitleaks_json import GitleaksJsonHandler
    from chainproof.core.materials.graphql_spec import GraphqlSpecHandler
    from chainproof.core.materials.helm_chart import HelmChartHandler
    from chainproof.core.materials.jacoco_xml import JacocoXmlHandler
    from chainproof.core.materials.junit_xml import JUnitXmlHandler
    from chainproof.core.materials.openapi_spec import OpenApiSpecHandler
    from chainproof.core.materials.openvex import OpenVexHandler
    from chainproof.core.materials.ossf_scorecard_json import OssfScorecardJsonHandler
    from chainproof.core.materials.pr_info import PrInfoHandler
    from chainproof.core.materials.radamsa import RadamsaCrashesHandler, RadamsaReportHandler
    from chainproof.core.materials.runner_context import RunnerContextHandler
    from chainproof.core.materials.sarif import SarifHandler
    from chainproof.core.materials.sbom_cyclonedx_json import CycloneDXJsonHandler
    from chainproof.core.materials.sbom_cyclonedx_xml import CycloneDXXmlHandler
    from chainproof.core.materials.sbom_spdx_json import SpdxJsonHandler
    from chainproof.core.materials.slsa_provenance import SlsaProvenanceHandler
    from chainproof.core.materials.string import StringHandler
    from chainproof.core.materials.sysinternals import AccesschkHandler, SigcheckHandler
    from chainproof.core.materials.trufflehog_json import TrufflehogJsonHandler
    from chainproof.core.materials.twistcli_scan_json import TwistcliScanJsonHandler
    from chainproof.core.materials.zap_dast_zip import ZapDastZipHandler

    _IMPLEMENTATIONS: tuple[MaterialHandler, ...] = (
        StringHandler(),
        ArtifactHandler(),
        EvidenceHandler(),
        ContainerImageHandler(),
        CycloneDXJsonHandler(),
        CycloneDXXmlHandler(),
        SpdxJsonHandler(),
        CsafVexHandler(),
        CsafInformationalAdvisoryHandler(),
        CsafSecurityAdvisoryHandler(),
        CsafSecurityIncidentResponseHandler(),
        OpenVexHandler(),
        SarifHandler(),
        JUnitXmlHandler(),
        JacocoXmlHandler(),
        CoberturaXmlHandler(),
        GitlabSecurityReportHandler(),
        GhasCodeScanHandler(),
        GhasSecretScanHandler(),
        GhasDependencyScanHandler(),
        GitleaksJsonHandler(),
        TrufflehogJsonHandler(),
        DetectSecretsBaselineHandler(),
        BlackduckScaJsonHandler(),
        TwistcliScanJsonHandler(),
        CheckmarxJsonHandler(),
        OssfScorecardJsonHandler(),
        ZapDastZipHandler(),
        SlsaProvenanceHandler(),
        AttestationHandler(),
        OpenApiSpecHandler(),
        AsyncApiSpecHandler(),
        GraphqlSpecHandler(),
        HelmChartHandler(),
        RunnerContextHandler(),
        PrInfoHandler(),
        AiAgentConfigHandler(),
        AiCodingSessionHandler(),
        SigcheckHandler(),
        AccesschkHandler(),
        DranzerHandler(),
        RadamsaReportHandler(),
        RadamsaCrashesHandler(),
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
    """The kind of ``value``: the one kind of the first tier of :data:`DETECTION_TIERS` that
    accepts it.

    Detection only recognises a format; it does not validate it, so a broken CycloneDX file is
    detected as SBOM_CYCLONEDX_JSON and :func:`craft` then says what is wrong with it.
    Raises MaterialError listing the candidates when two kinds of one tier accept the value,
    and when nothing accepts it (an empty string).
    """
    for tier in DETECTION_TIERS:
        candidates = [kind for kind in tier if handler_for(kind).accepts(value)]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise MaterialError(
                f"cannot tell the kind of {value}: it could be any of {', '.join(candidates)}",
                hint="give --kind, or name the material in the contract",
                candidates=candidates,
            )
    raise MaterialError("cannot detect the kind of an empty value", hint="pass --value")


def craft(
    name: str, value: str, kind: str | None = None, *, images: ImageResolver | None = None
) -> CraftedMaterial:
    """Validate ``value`` as evidence of ``kind`` (detected when None) and return it crafted.

    ``images`` resolves a CONTAINER_IMAGE reference that names a tag (without it, only
    digest-pinned references are accepted: nothing here goes to the network).
    Raises MaterialError with a kind-specific reason when the value is not valid evidence.
    """
    chosen = detect_kind(value) if kind is None else kind
    handler = handler_for(chosen)
    if images is not None and handler.kind == MaterialKind.CONTAINER_IMAGE:
        from chainproof.core.materials.container_image import ContainerImageHandler

        handler = ContainerImageHandler(images)
    return handler.craft(name, value)
