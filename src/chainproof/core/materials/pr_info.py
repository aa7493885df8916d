"""PR_INFO: metadata of the pull or merge request a job ran for.

``chainproof attestation init`` collects it by itself (``core/runners/pr_info.py``) and adds it
as the material ``pr-info``; a file of the same shape may also be added by hand. Validated
against chainproof's own schema ``schemas/pr-info-v1.json`` (no published schema exists; the
field names are Chainloop's ``pr-info`` ones).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core.materials._report import crafted, load_json, sniff_json
from chainproof.core.materials._schema import check_schema
from chainproof.core.materials.base import CraftedMaterial

SCHEMA_FILE = "pr-info-v1.json"
_MARKERS = (re.compile(rb'"source_branch"\s*:'), re.compile(rb'"target_branch"\s*:'))


def _looks_like_pr_info(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("type") in ("pull_request", "merge_request")
        and "source_branch" in doc
        and "target_branch" in doc
    )


class PrInfoHandler:
    """Validates a PR_INFO document and summarises it (it is small: the summary is most of it)."""

    kind: ClassVar[str] = "PR_INFO"

    def accepts(self, value: str) -> bool:
        """A JSON object with ``type`` pull_request/merge_request and both branches."""
        found = sniff_json(value, b"{", _MARKERS)
        return _looks_like_pr_info(found) if isinstance(found, dict) else found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """MaterialError for a missing, empty or non-JSON file, or a schema violation."""
        path, digest, size, doc = load_json(self.kind, "PR_INFO", value)
        check_schema(
            SCHEMA_FILE,
            doc,
            document=path.name,
            label="PR_INFO document",
            hint="chainproof collects it at `attestation init`; see schemas/pr-info-v1.json",
        )
        summary = {
            key: doc.get(key)
            for key in ("platform", "type", "number", "url", "source_branch", "target_branch")
        }
        summary["author"] = doc.get("author")
        summary["reviewer_count"] = len(doc.get("reviewers") or [])
        summary["draft"] = bool(doc.get("draft", False))
        return crafted(self.kind, name, path, digest, size, summary)
