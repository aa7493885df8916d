"""The AI agent configuration of a repository: the CHAINLOOP_AI_AGENT_CONFIG evidence.

What an AI coding agent is told and allowed in a repository lives in files beside the code:
instruction files, settings and MCP server lists. ``collect`` finds them under a directory (the
directory ``attestation init`` runs in, as Chainloop's collector does), groups them by agent and
builds one evidence document per agent, in Chainloop's envelope and schema 0.1, so Chainloop's
policies read chainproof's documents unchanged.

An agent is reported when at least one file only it reads exists; the files every agent reads
(``AGENTS.md``, ``.mcp.json``) are added to each reported agent. When only those exist, they are
reported under the agent ``generic``. Chainloop's patterns, plus ``.cursorrules``, Cursor's and
VS Code's ``mcp.json`` and GitHub Copilot's instruction files. MCP servers are listed with
their command, arguments and URL; environment values and header values are left out (only
their names are kept), though each file's full content is in the document, base64-encoded.
Symbolic links that leave the directory are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainproof.errors import MaterialError

SCHEMA_VERSION = "0.1"
EVIDENCE_ID = "CHAINLOOP_AI_AGENT_CONFIG"
SCHEMA_URL = "https://schemas.chainloop.dev/aiagentconfig/0.1/ai-agent-config.schema.json"
MAX_FILE_BYTES = 1024 * 1024
"""A configuration file larger than this is refused (instruction files are a few KiB)."""
MATERIAL_PREFIX = "ai-agent-config-"
"""Collected documents that fill no contract slot are named ``ai-agent-config-<agent>``."""

INSTRUCTION, CONFIGURATION = "instruction", "configuration"
AGENT_PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    "claude": (
        ("CLAUDE.md", INSTRUCTION),
        (".claude/CLAUDE.md", INSTRUCTION),
        (".claude/settings.json", CONFIGURATION),
        (".claude/rules/*.md", INSTRUCTION),
        (".claude/agents/*.md", INSTRUCTION),
        (".claude/commands/*.md", INSTRUCTION),
        (".claude/skills/*/SKILL.md", INSTRUCTION),
    ),
    "cursor": (
        (".cursorrules", INSTRUCTION),
        (".cursor/rules/*.md", INSTRUCTION),
        (".cursor/rules/*.mdc", INSTRUCTION),
        (".cursor/rules/*/*.md", INSTRUCTION),
        (".cursor/rules/*/*.mdc", INSTRUCTION),
        (".cursor/skills/*/SKILL.md", INSTRUCTION),
        (".cursor/agents/*.md", INSTRUCTION),
        (".cursor/mcp.json", CONFIGURATION),
    ),
    "copilot": (
        (".github/copilot-instructions.md", INSTRUCTION),
        (".github/instructions/*.instructions.md", INSTRUCTION),
        (".github/prompts/*.prompt.md", INSTRUCTION),
        (".vscode/mcp.json", CONFIGURATION),
    ),
}
SHARED_PATTERNS: tuple[tuple[str, str], ...] = (
    (".mcp.json", CONFIGURATION),
    ("AGENTS.md", INSTRUCTION),
)
GENERIC_AGENT = "generic"


def _matches(root: Path, patterns: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """{relative path: kind} of the regular files matching ``patterns`` inside ``root``."""
    found: dict[str, str] = {}
    resolved_root = root.resolve()
    for pattern, kind in patterns:
        for path in sorted(root.glob(pattern)):
            try:
                real = path.resolve()
                inside = real.is_relative_to(resolved_root) and real.is_file()
            except OSError:
                continue
            if inside:
                found.setdefault(path.relative_to(root).as_posix(), kind)
    return found


def discover(root: Path) -> dict[str, dict[str, str]]:
    """{agent: {relative path: kind}} of the configuration files under ``root``."""
    shared = _matches(root, SHARED_PATTERNS)
    agents: dict[str, dict[str, str]] = {}
    for agent, patterns in AGENT_PATTERNS.items():
        own = _matches(root, patterns)
        if own:
            agents[agent] = dict(sorted({**shared, **own}.items()))
    if not agents and shared:
        agents[GENERIC_AGENT] = dict(sorted(shared.items()))
    return agents


def _read(root: Path, relative: str) -> bytes:
    path = root / relative
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MaterialError(
                f"AI agent config: {relative} is larger than {MAX_FILE_BYTES} bytes",
                hint="instruction and settings files are expected to be small",
            )
        return path.read_bytes()
    except OSError as err:
        raise MaterialError(f"AI agent config: cannot read {relative}: {err.strerror}") from None


def _mcp_servers(relative: str, content: bytes) -> list[dict[str, Any]]:
    """The MCP servers a JSON settings file declares (``mcpServers``, or VS Code's
    ``servers``), values of ``env`` and ``headers`` left out."""
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return []
    servers = doc.get("mcpServers", doc.get("servers")) if isinstance(doc, dict) else None
    if not isinstance(servers, dict):
        return []
    out = []
    for name, entry in sorted(servers.items()):
        if not isinstance(entry, dict):
            continue
        server: dict[str, Any] = {"name": name, "source": relative}
        for key in ("type", "command", "args", "url", "disabled"):
            if key in entry:
                server[key] = entry[key]
        for key in ("env", "headers"):
            if isinstance(entry.get(key), dict) and entry[key]:
                server[f"{key}_keys"] = sorted(entry[key])
        out.append(server)
    return out


def _permissions(files: Mapping[str, bytes]) -> dict[str, Any] | None:
    """Claude's allow/ask/deny rules from ``.claude/settings.json``, when it has them."""
    content = files.get(".claude/settings.json")
    try:
        doc = json.loads(content.decode("utf-8-sig")) if content else None
    except (UnicodeDecodeError, ValueError):
        return None
    rules = doc.get("permissions") if isinstance(doc, dict) else None
    return rules if isinstance(rules, dict) and rules else None


def config_hash(entries: list[dict[str, Any]]) -> str:
    """SHA-256 of the sorted ``path:sha256`` strings concatenated (Chainloop's drift hash)."""
    joined = "".join(sorted(f"{e['path']}:{e['sha256']}" for e in entries))
    return hashlib.sha256(joined.encode()).hexdigest()


def build(
    root: Path,
    agent: str,
    files: Mapping[str, str],
    git: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The evidence envelope of one agent's ``files`` ({relative path: kind}) under ``root``."""
    contents = {relative: _read(root, relative) for relative in files}
    entries = [
        {
            "path": relative,
            "kind": files[relative],
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "content": base64.b64encode(content).decode("ascii"),
        }
        for relative, content in contents.items()
    ]
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "agent": {"name": agent},
        "config_hash": config_hash(entries),
        "captured_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config_files": entries,
    }
    if git:
        remotes = git.get("remotes") or []
        context = {
            "repository": remotes[0]["url"] if remotes else None,
            "branch": git.get("branch"),
            "commit_sha": git.get("commit"),
        }
        data["git_context"] = {k: v for k, v in context.items() if v}
    servers = [
        s
        for rel, body in contents.items()
        for s in _mcp_servers(rel, body)
        if rel.endswith(".json")
    ]
    if servers:
        data["mcp_servers"] = servers
    permissions = _permissions(contents)
    if permissions:
        data["permissions"] = permissions
    return {"chainloop.material.evidence.id": EVIDENCE_ID, "schema": SCHEMA_URL, "data": data}


def collect(
    root: Path, git: Mapping[str, Any] | None = None, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """{agent: evidence document} for every agent configured under ``root`` (may be empty)."""
    return {agent: build(root, agent, files, git, now) for agent, files in discover(root).items()}
