"""CHAINLOOP_AI_AGENT_CONFIG and CHAINLOOP_AI_CODING_SESSION, and the collector of the AI agent
configuration (``core/ai_config.py``).

The coding-session samples and the two agent-config samples in tests/assets/materials/ai are
Chainloop's (see the README there). Valid agent configurations are made here by the collector
from a small repository tree holding the files Claude Code, Cursor and GitHub Copilot read.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.unit.core.materials_kit import craft, error

from chainproof.core import ai_config, materials
from chainproof.core.contract import Contract, MaterialSpec
from chainproof.core.crafting_rules import automatic_documents, wants_ai_config
from chainproof.core.materials.chainloop_ai import AiAgentConfigHandler, AiCodingSessionHandler

AI = Path(__file__).parents[2] / "assets" / "materials" / "ai"
CONFIG, SESSION = AiAgentConfigHandler(), AiCodingSessionHandler()
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
GIT = {
    "commit": "5869b91e80fea5ac3d4502c728b118e85d65d825",
    "branch": "main",
    "remotes": [{"name": "origin", "url": "https://github.com/acme/shop.git"}],
}
SETTINGS = {
    "permissions": {"allow": ["Bash(pytest:*)"], "deny": ["Read(./.env)"]},
    "mcpServers": {
        "files": {"command": "npx", "args": ["-y", "server-filesystem"], "env": {"TOKEN": "s3"}}
    },
}


def repository(root: Path) -> Path:
    """A checkout with the configuration files of three agents and two shared ones."""
    files = {
        "CLAUDE.md": "# Project rules\nRun the tests before committing.\n",
        ".claude/settings.json": json.dumps(SETTINGS),
        ".claude/rules/style.md": "# Style\nUse type hints.\n",
        ".cursorrules": "Be concise.\n",
        ".cursor/rules/python.mdc": "---\ndescription: Python\nglobs: ['*.py']\n---\nNo prints.\n",
        ".github/copilot-instructions.md": "# Copilot\nPrefer the standard library.\n",
        ".vscode/mcp.json": json.dumps(
            {
                "servers": {
                    "github": {
                        "type": "http",
                        "url": "https://api.githubcopilot.com/mcp/",
                        "headers": {"Authorization": "Bearer ghp_x"},
                    }
                }
            }
        ),
        ".mcp.json": json.dumps({"mcpServers": {"docs": {"url": "https://docs.example/mcp"}}}),
        "AGENTS.md": "# Agents\nAsk before deleting files.\n",
        "src/app.py": "print('not configuration')\n",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


# --- CHAINLOOP_AI_CODING_SESSION -------------------------------------------------------------


def test_coding_session() -> None:
    material = craft(SESSION, AI / "ai-coding-session.json")
    assert material.summary == {
        "agent": "claude-code",
        "agent_version": "2.1.83",
        "model": "claude-opus-4-6",
        "session_id": "fa8acbe6-a176-4c2a-b51e-fd4541615eb5",
        "started_at": "2026-03-25T15:10:49.161Z",
        "ended_at": "2026-03-25T16:59:14.988Z",
        "duration_seconds": 6505,
        "commits": 2,
        "files_changed": 2,
        "lines_added": 36,
        "lines_removed": 0,
        "total_tokens": 3052,
        "tool_invocations": 17,
        "warnings": 0,
    }
    assert material.annotations == {
        "chainproof.material.evidence.id": "CHAINLOOP_AI_CODING_SESSION",
        "chainproof.material.aiagent.name": "claude-code",
        "chainproof.material.aiagent.model": "claude-opus-4-6",
        "chainproof.material.evidence.schema": (
            "https://schemas.chainloop.dev/aicodingsession/0.1/ai-coding-session.schema.json"
        ),
    }
    assert "hello world" not in json.dumps(material.to_dict())  # no conversation


def test_minimal_coding_session() -> None:
    summary = craft(SESSION, AI / "ai-coding-session-minimal.json").summary
    assert summary["agent"] == "cursor" and summary["model"] is None
    assert summary["duration_seconds"] == 100 and summary["files_changed"] == 0


def test_coding_session_refusals(tmp_path: Path) -> None:
    doc = json.loads((AI / "ai-coding-session.json").read_text())
    del doc["data"]["session"]["started_at"]
    doc["data"]["surprise"] = True
    err = error(SESSION, write_doc(tmp_path / "s.json", doc))
    assert err.message.startswith("s.json is not a valid AI coding session (Chainloop schema 0.1):")
    assert "data.session: 'started_at' is a required property" in err.message
    assert "data: Additional properties are not allowed ('surprise' was unexpected)" in (
        err.message
    )
    assert err.hint and "ai-coding-session.schema.json" in err.hint
    bare = write_doc(tmp_path / "bare.json", doc["data"])  # no envelope
    err = error(SESSION, bare)
    assert "bare.json is not an AI coding session envelope: its data is null" in err.message
    wrong = error(SESSION, AI / "ai-agent-config-claude.json")
    assert wrong.message.endswith(
        "is a CHAINLOOP_AI_AGENT_CONFIG document, not CHAINLOOP_AI_CODING_SESSION"
    )
    assert wrong.hint == "add it with --kind CHAINLOOP_AI_AGENT_CONFIG"
    listed = write_doc(tmp_path / "list.json", [doc])  # type: ignore[arg-type]
    assert "the top level is an array" in error(SESSION, listed).message


# --- CHAINLOOP_AI_AGENT_CONFIG ---------------------------------------------------------------


def test_chainloop_agent_config_samples_are_detected_then_refused() -> None:
    for name in ("ai-agent-config-claude.json", "ai-agent-config-cursor.json"):
        assert materials.detect_kind(str(AI / name)) == "CHAINLOOP_AI_AGENT_CONFIG"
        err = error(CONFIG, AI / name)
        assert "data: 'schema_version' is a required property" in err.message
        assert "data: 'captured_at' is a required property" in err.message


def test_collector_groups_files_by_agent(tmp_path: Path) -> None:
    root = repository(tmp_path)
    (root / ".claude" / "rules" / "escape.md").symlink_to("/etc/hostname")  # leaves the tree
    found = ai_config.discover(root)
    assert found == {
        "claude": {
            ".claude/rules/style.md": "instruction",
            ".claude/settings.json": "configuration",
            ".mcp.json": "configuration",
            "AGENTS.md": "instruction",
            "CLAUDE.md": "instruction",
        },
        "cursor": {
            ".cursor/rules/python.mdc": "instruction",
            ".cursorrules": "instruction",
            ".mcp.json": "configuration",
            "AGENTS.md": "instruction",
        },
        "copilot": {
            ".github/copilot-instructions.md": "instruction",
            ".mcp.json": "configuration",
            ".vscode/mcp.json": "configuration",
            "AGENTS.md": "instruction",
        },
    }


def test_collected_configuration_is_valid_evidence(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    docs = ai_config.collect(root, GIT, NOW)
    assert sorted(docs) == ["claude", "copilot", "cursor"]
    claude = docs["claude"]
    assert claude["chainloop.material.evidence.id"] == "CHAINLOOP_AI_AGENT_CONFIG"
    data = claude["data"]
    assert data["captured_at"] == "2026-12-07T10:00:00Z" and data["schema_version"] == "0.1"
    assert data["git_context"] == {
        "repository": "https://github.com/acme/shop.git",
        "branch": "main",
        "commit_sha": GIT["commit"],
    }
    entry = next(f for f in data["config_files"] if f["path"] == "CLAUDE.md")
    content = (root / "CLAUDE.md").read_bytes()
    assert base64.b64decode(entry["content"]) == content
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert data["permissions"] == SETTINGS["permissions"]
    assert data["mcp_servers"] == [
        {
            "name": "files",
            "source": ".claude/settings.json",
            "command": "npx",
            "args": ["-y", "server-filesystem"],
            "env_keys": ["TOKEN"],
        },
        {"name": "docs", "source": ".mcp.json", "url": "https://docs.example/mcp"},
    ]
    copilot_servers = docs["copilot"]["data"]["mcp_servers"]
    assert copilot_servers[1]["headers_keys"] == ["Authorization"]
    assert "ghp_x" not in json.dumps(copilot_servers)
    path = write_doc(tmp_path / "claude.json", claude)
    assert materials.detect_kind(str(path)) == "CHAINLOOP_AI_AGENT_CONFIG"
    material = craft(CONFIG, path)
    assert material.summary == {
        "agent": "claude",
        "agent_version": None,
        "captured_at": "2026-12-07T10:00:00Z",
        "config_hash": data["config_hash"],
        "files": 5,
        "by_file_kind": {"configuration": 2, "instruction": 3},
        "paths": [
            ".claude/rules/style.md",
            ".claude/settings.json",
            ".mcp.json",
            "AGENTS.md",
            "CLAUDE.md",
        ],
        "mcp_servers": 2,
        "commit": GIT["commit"],
    }
    assert material.annotations["chainproof.material.aiagent.name"] == "claude"
    assert "Run the tests" not in json.dumps(material.summary)


def test_config_hash_follows_the_files(tmp_path: Path) -> None:
    root = repository(tmp_path)
    first = ai_config.collect(root, None, NOW)["cursor"]["data"]["config_hash"]
    assert ai_config.collect(root, None, NOW)["cursor"]["data"]["config_hash"] == first
    (root / ".cursorrules").write_text("Be verbose.\n", encoding="utf-8")
    assert ai_config.collect(root, None, NOW)["cursor"]["data"]["config_hash"] != first


def test_only_shared_files_are_reported_as_generic(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("# Agents\n", encoding="utf-8")
    assert ai_config.discover(tmp_path) == {"generic": {"AGENTS.md": "instruction"}}
    assert ai_config.collect(tmp_path / "nothing-here") == {}


def test_a_huge_configuration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "CLAUDE.md").write_bytes(b"x" * (ai_config.MAX_FILE_BYTES + 1))
    with pytest.raises(materials.MaterialError, match=r"CLAUDE\.md is larger than"):
        ai_config.collect(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"content": "not base64!"}, "content is not base64"),
        ({"size": 3}, "size says 3 bytes, content has"),
        ({"sha256": "0" * 64}, "sha256 does not match its content"),
        ({"kind": "secret"}, "'secret' is not one of ['configuration', 'instruction']"),
    ],
)
def test_agent_config_refusals(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    doc = ai_config.collect(repository(tmp_path / "repo"), None, NOW)["claude"]
    doc["data"]["config_files"][0].update(change)
    err = error(CONFIG, write_doc(tmp_path / "c.json", doc))
    assert message in err.message
    assert err.message.startswith("c.json is not a valid AI agent config")


# --- init: which documents it records -----------------------------------------------------------


def test_automatic_documents_place_the_ai_configurations() -> None:
    docs = {"cursor": {"c": 1}, "claude": {"c": 2}}
    plain = Contract(name="plain")
    assert not wants_ai_config(plain, ())
    assert wants_ai_config(plain, ("aiconfig",))
    assert automatic_documents(plain, None, {}, docs) == [
        ("ai-agent-config-claude", "CHAINLOOP_AI_AGENT_CONFIG", {"c": 2}),
        ("ai-agent-config-cursor", "CHAINLOOP_AI_AGENT_CONFIG", {"c": 1}),
    ]
    slotted = Contract(
        name="slotted",
        materials=(
            MaterialSpec("agents", "CHAINLOOP_AI_AGENT_CONFIG"),
            MaterialSpec("ai-agent-config-cursor", "ARTIFACT"),  # a name already taken
        ),
    )
    assert wants_ai_config(slotted, ())
    assert automatic_documents(slotted, None, {}, docs) == [
        ("agents", "CHAINLOOP_AI_AGENT_CONFIG", {"c": 2}),
    ]
