"""RUNNER_CONTEXT: the CI runner and git checkout a job ran in, as a JSON document.

``chainproof attestation init`` fills a contract slot of this kind by itself from what it
discovered (``core.runners.context_document``); a document of the same shape, e.g. one that also
carries the repository's branch protection, may be added by hand. Validated against
chainproof's own schema ``schemas/runner-context-v1.json`` (no published schema exists).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core.materials._report import crafted, load_json, sniff_json
from chainproof.core.materials._schema import check_schema
from chainproof.core.materials.base import CraftedMaterial

SCHEMA_FILE = "runner-context-v1.json"
_MARKERS = (re.compile(rb'"runner"\s*:'), re.compile(rb'"schema_version"\s*:'))


def _looks_like_context(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "schema_version" in doc
        and isinstance(doc.get("runner"), dict)
        and "type" in doc["runner"]
    )


class RunnerContextHandler:
    """Validates a RUNNER_CONTEXT document; the summary names the runner and the commit."""

    kind: ClassVar[str] = "RUNNER_CONTEXT"

    def accepts(self, value: str) -> bool:
        """A JSON object with ``schema_version`` and a ``runner`` object that has a ``type``."""
        found = sniff_json(value, b"{", _MARKERS)
        return _looks_like_context(found) if isinstance(found, dict) else found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing, empty or non-JSON file, or a schema violation."""
        path, digest, size, doc = load_json(self.kind, "RUNNER_CONTEXT", value)
        check_schema(
            SCHEMA_FILE,
            doc,
            document=path.name,
            label="RUNNER_CONTEXT document",
            hint="chainproof fills RUNNER_CONTEXT slots at `attestation init`",
        )
        runner = doc["runner"]
        git = doc.get("git") or {}
        repository = doc.get("repository") or {}
        summary = {
            "runner_type": runner["type"],
            "environment": runner["environment"],
            "url": runner.get("url"),
            "env_count": len(runner.get("env") or {}),
            "commit": git.get("commit"),
            "branch": git.get("branch"),
            "dirty": git.get("dirty"),
            "branch_protected": repository.get("branch_protected"),
        }
        return crafted(self.kind, name, path, digest, size, summary)
