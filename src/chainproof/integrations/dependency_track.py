"""Dependency-Track kind: each CycloneDX SBOM of a pushed run uploaded to a project.

Dependency-Track's REST API (v4): ``PUT /api/v1/bom`` with a JSON body
``{"projectName", "projectVersion", "autoCreate": true, "bom": <base64 of the SBOM>}`` and
the API key in ``X-Api-Key``; the answer (200) carries a ``token`` for the asynchronous
processing, which we do not wait for. ``autoCreate`` creates the project (and version) on
first use; the key needs the ``BOM_UPLOAD`` and ``PROJECT_CREATION_UPLOAD`` permissions.
The SBOM is read from the CAS (``event.content``). An upload again replaces the project
version's components with the same ones, so a retried delivery is harmless.
"""

from __future__ import annotations

import base64
from string import Formatter

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from chainproof.integrations import Event, Outcome, http_client, status_outcome

#: The material kinds uploaded (Dependency-Track reads CycloneDX, JSON or XML).
SBOM_KINDS = ("SBOM_CYCLONEDX_JSON", "SBOM_CYCLONEDX_XML")
PLACEHOLDERS = ("org", "project", "workflow", "version", "material")
#: A run without a project version uploads to this version.
NO_VERSION = "latest"


def _template(value: str) -> str:
    names = {field for _, field, _, _ in Formatter().parse(value) if field is not None}
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown or not value.strip():
        raise ValueError(f"use the placeholders {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    return value


class DependencyTrackConfig(BaseModel):
    """The Dependency-Track server and how its projects are named."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl = Field(
        description="Dependency-Track's API server, e.g. https://dtrack.example.com."
    )
    project_name: str = Field(
        "{project}",
        description="Dependency-Track project name; placeholders {org}, {project}, "
        "{workflow}, {version}, {material}.",
    )
    project_version: str = Field(
        "{version}",
        description=f"Dependency-Track project version (a run without a version: "
        f"`{NO_VERSION}`); same placeholders.",
    )

    _names = field_validator("project_name", "project_version")(_template)


class DependencyTrack:
    name = "dependency-track"
    description = "Upload each CycloneDX SBOM of a pushed run to a Dependency-Track project."
    config = DependencyTrackConfig
    stdin_help: str | None = "the Dependency-Track API key (BOM_UPLOAD, PROJECT_CREATION_UPLOAD)"
    event_types = ("run.succeeded", "run.blocked")

    def endpoints(self, config: BaseModel, secret: str | None) -> list[str]:
        assert isinstance(config, DependencyTrackConfig)
        return [str(config.url)]

    def deliver(
        self, config: BaseModel, secret: str | None, event: Event, timeout: float
    ) -> Outcome:
        assert isinstance(config, DependencyTrackConfig)
        if not secret:
            return Outcome(False, None, "no API key: add the integration with --secret-stdin")
        if event.content is None:
            return Outcome(False, None, "this worker cannot read the run's SBOMs (no CAS)")
        sboms = [m for m in event.content.materials() if m.kind in SBOM_KINDS and m.stored]
        url = str(config.url).rstrip("/") + "/api/v1/bom"
        outcome = Outcome(True, None)  # a run without a CycloneDX SBOM: nothing to upload
        for material in sboms:
            values = {
                "org": event.org,
                "project": str(event.data.get("project", "")),
                "workflow": str(event.data.get("workflow", "")),
                "version": event.content.version or NO_VERSION,
                "material": material.name,
            }
            body = {
                "projectName": config.project_name.format_map(values),
                "projectVersion": config.project_version.format_map(values),
                "autoCreate": True,
                "bom": base64.b64encode(event.content.read(material)).decode(),
            }
            headers = {"X-Api-Key": secret}
            reply = http_client().put(url, json=body, headers=headers, timeout=timeout)
            outcome = status_outcome(reply.status_code, reply.text)
            if not outcome.ok:
                return outcome
        return outcome


KIND = DependencyTrack()
