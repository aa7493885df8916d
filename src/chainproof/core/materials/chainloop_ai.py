"""CHAINLOOP_AI_AGENT_CONFIG and CHAINLOOP_AI_CODING_SESSION: Chainloop's AI evidence documents.

Both are Chainloop's custom-evidence envelope, ``{"chainloop.material.evidence.id": <kind>,
"schema": <schema URL>, "data": {...}}``, whose ``data`` is validated against Chainloop's own
JSON Schemas, vendored in ``schemas/`` (``chainloop-ai-agent-config-0.1.json``,
``chainloop-ai-coding-session-0.1.json``; both forbid fields they do not name), as Chainloop's
crafters do.

* The agent configuration is what an AI coding agent is told and allowed in a repository:
  instruction files (CLAUDE.md, AGENTS.md, .cursor/rules, ...), settings and MCP server lists,
  each with its path, kind, SHA-256, size and base64 content. ``chainproof attestation init
  --collectors aiconfig`` collects it (``core/ai_config.py``). Beyond the schema, each file's
  content must decode and match its recorded SHA-256 and size, so the evidence cannot claim a
  file it does not carry.
* The coding session is the telemetry of one agent session (agent, model, timing, commits,
  code changes, token usage, tools), written by Chainloop's session tracing.

The summaries never include file contents or the raw conversation.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from pathlib import Path
from typing import Any, ClassVar

from chainproof.core.digest import Digest
from chainproof.core.materials._common import ANNOTATION_PREFIX
from chainproof.core.materials._report import count_by, crafted, load_json, sniff_json, type_name
from chainproof.core.materials._schema import check_schema
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

ID_KEY = "chainloop.material.evidence.id"
AGENT_CONFIG = "CHAINLOOP_AI_AGENT_CONFIG"
CODING_SESSION = "CHAINLOOP_AI_CODING_SESSION"
SCHEMA_URLS = {
    AGENT_CONFIG: "https://schemas.chainloop.dev/aiagentconfig/0.1/ai-agent-config.schema.json",
    CODING_SESSION: (
        "https://schemas.chainloop.dev/aicodingsession/0.1/ai-coding-session.schema.json"
    ),
}
_SCHEMA_FILES = {
    AGENT_CONFIG: "chainloop-ai-agent-config-0.1.json",
    CODING_SESSION: "chainloop-ai-coding-session-0.1.json",
}
_SCHEMA_PATHS = {AGENT_CONFIG: "/aiagentconfig/", CODING_SESSION: "/aicodingsession/"}
AGENT_ANNOTATION = ANNOTATION_PREFIX + "aiagent.name"
MODEL_ANNOTATION = ANNOTATION_PREFIX + "aiagent.model"
SCHEMA_ANNOTATION = ANNOTATION_PREFIX + "evidence.schema"
ID_ANNOTATION = ANNOTATION_PREFIX + "evidence.id"


def envelope_kind(doc: Any) -> str | None:
    """Which of the two kinds an evidence envelope declares (by id, else by schema URL)."""
    if not isinstance(doc, dict) or "data" not in doc:
        return None
    ident = doc.get(ID_KEY, doc.get("id"))
    if ident in SCHEMA_URLS:
        return str(ident)
    schema = doc.get("schema")
    if isinstance(schema, str):
        for kind, part in _SCHEMA_PATHS.items():
            if part in schema:
                return kind
    return None


def _markers(kind: str) -> tuple[re.Pattern[bytes], ...]:
    return (re.compile(rb'"(chainloop\.material\.evidence\.)?id"\s*:\s*"' + kind.encode()),)


class _Envelope:
    """What both kinds share: sniff the envelope, load it, validate its data."""

    kind: ClassVar[str]
    label: ClassVar[str]

    def accepts(self, value: str) -> bool:
        """A JSON object whose evidence id (or schema URL) names this kind."""
        found = sniff_json(value, b"{", _markers(self.kind))
        return envelope_kind(found) == self.kind if isinstance(found, dict) else found is True

    def load(self, value: str) -> tuple[Path, Digest, int, dict[str, Any], dict[str, Any]]:
        """Path, digest, size, envelope and data; MaterialError for anything invalid."""
        path, digest, size, doc = load_json(self.kind, self.label, value)
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
            where = "the top level" if not isinstance(doc, dict) else "its data"
            found = type_name(doc if not isinstance(doc, dict) else doc.get("data"))
            raise MaterialError(
                f"{path.name} is not an {self.label} envelope: {where} is {found}, expected an "
                f'object {{"{ID_KEY}": "{self.kind}", "schema": ..., "data": {{...}}}}',
                hint="add the document Chainloop's collector or session tracing wrote",
            )
        declared = envelope_kind(doc)
        if declared not in (None, self.kind):
            raise MaterialError(
                f"{path.name} is a {declared} document, not {self.kind}",
                hint=f"add it with --kind {declared}",
            )
        check_schema(
            _SCHEMA_FILES[self.kind],
            doc["data"],
            document=path.name,
            label=f"{self.label} (Chainloop schema 0.1)",
            hint=f"data must follow {SCHEMA_URLS[self.kind]}",
            at="data",
        )
        return path, digest, size, doc, doc["data"]

    def annotations(self, doc: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
        out = {ID_ANNOTATION: self.kind, AGENT_ANNOTATION: data["agent"]["name"]}
        if isinstance(doc.get("schema"), str):
            out[SCHEMA_ANNOTATION] = doc["schema"]
        return out


def _check_file(filename: str, index: int, entry: dict[str, Any]) -> None:
    """The base64 content decodes to bytes of the recorded size and SHA-256."""
    where = (
        f"{filename} is not a valid AI agent config: data.config_files[{index}] ({entry['path']})"
    )
    try:
        content = base64.b64decode(entry["content"], validate=True)
    except (binascii.Error, ValueError):
        raise MaterialError(f"{where}: content is not base64") from None
    if len(content) != entry["size"]:
        raise MaterialError(f"{where}: size says {entry['size']} bytes, content has {len(content)}")
    if hashlib.sha256(content).hexdigest() != entry["sha256"].lower():
        raise MaterialError(
            f"{where}: sha256 does not match its content",
            hint="the file list was edited after collection; collect it again",
        )


def _mcp_count(servers: Any) -> int | None:
    if isinstance(servers, list | dict):
        return len(servers)
    return None


class AiAgentConfigHandler(_Envelope):
    """Validates an AI agent configuration; the summary lists the files, never their content."""

    kind: ClassVar[str] = AGENT_CONFIG
    label: ClassVar[str] = "AI agent config"

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing/empty/non-JSON file, a missing envelope, a schema
        violation, or a file whose content does not match its size and digest."""
        path, digest, size, doc, data = self.load(value)
        files = data["config_files"]
        for index, entry in enumerate(files):
            _check_file(path.name, index, entry)
        git = data.get("git_context") or {}
        summary: dict[str, Any] = {
            "agent": data["agent"]["name"],
            "agent_version": data["agent"].get("version"),
            "captured_at": data["captured_at"],
            "config_hash": data["config_hash"],
            "files": len(files),
            "by_file_kind": count_by(files, lambda f: f["kind"]),
            "paths": [f["path"] for f in files],
            "mcp_servers": _mcp_count(data.get("mcp_servers")),
            "commit": git.get("commit_sha"),
        }
        return crafted(self.kind, name, path, digest, size, summary, self.annotations(doc, data))


def _get(data: dict[str, Any], section: str, key: str) -> Any:
    part = data.get(section)
    return part.get(key) if isinstance(part, dict) else None


class AiCodingSessionHandler(_Envelope):
    """Validates an AI coding session; the summary keeps the figures, not the conversation."""

    kind: ClassVar[str] = CODING_SESSION
    label: ClassVar[str] = "AI coding session"

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing/empty/non-JSON file, a missing envelope or a schema
        violation."""
        path, digest, size, doc, data = self.load(value)
        session = data["session"]
        pick = functools.partial(_get, data)
        summary: dict[str, Any] = {
            "agent": data["agent"]["name"],
            "agent_version": data["agent"].get("version"),
            "model": pick("model", "primary"),
            "session_id": session["id"],
            "started_at": session["started_at"],
            "ended_at": session.get("ended_at"),
            "duration_seconds": session["duration_seconds"],
            "commits": pick("git_context", "commit_count"),
            "files_changed": len(pick("code_changes", "files") or []),
            "lines_added": pick("code_changes", "lines_added"),
            "lines_removed": pick("code_changes", "lines_removed"),
            "total_tokens": pick("usage", "total_tokens"),
            "tool_invocations": pick("tools_used", "total_invocations"),
            "warnings": len(data.get("warnings") or []),
        }
        annotations = self.annotations(doc, data)
        if isinstance(summary["model"], str) and summary["model"]:
            annotations[MODEL_ANNOTATION] = summary["model"]
        return crafted(self.kind, name, path, digest, size, summary, annotations)
