"""Pure helpers the run, contract, findings and audit pages use to present what services
computed: a material's one-line summary, a download's headers, pretty JSON, page links, and
the side-by-side table of two texts (:func:`side_by_side`). No I/O, no rules."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any
from urllib.parse import quote, urlencode

_JSON = "application/json"
#: Evidence kinds whose blobs are JSON though their names do not say so.
_JSON_KINDS = frozenset(
    {
        "ATTESTATION",
        "EVIDENCE",
        "GITLAB_SECURITY_REPORT",
        "OPENVEX",
        "PR_INFO",
        "RUNNER_CONTEXT",
        "SARIF",
        "SLSA_PROVENANCE",
        "YELP_DETECT_SECRETS_BASELINE",
    }
)


def material_summary(kind: str, summary: dict[str, Any] | None) -> str:
    """A line for people: ``5 components (CycloneDX 1.6)`` for an SBOM, ``3 results`` for a
    SARIF report, else the summary's scalar fields (``key: value``), or ``""``."""
    data = summary or {}
    if "component_count" in data:
        count = data["component_count"]
        spec = data.get("spec_version")
        line = f"{count} component{'' if count == 1 else 's'}"
        return f"{line} (spec {spec})" if spec else line
    if "result_count" in data:
        count = data["result_count"]
        levels = data.get("results_by_level") or {}
        shown = ", ".join(f"{n} {lvl}" for lvl, n in levels.items() if n)
        line = f"{count} finding{'' if count == 1 else 's'}"
        return f"{line} ({shown})" if shown else line
    scalars = [
        f"{key.replace('_', ' ')}: {value}"
        for key, value in data.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    return ", ".join(scalars[:4])


def content_type(kind: str, filename: str | None) -> str:
    """The media type to serve a material's blob with: JSON and XML kinds by their kind,
    else guessed from its file name, else ``application/octet-stream``."""
    if kind.endswith("_JSON") or kind.startswith(("CSAF_", "GHAS_")) or kind in _JSON_KINDS:
        return _JSON
    if kind.endswith("_XML"):
        return "application/xml"
    if kind.endswith("_ZIP"):
        return "application/zip"
    guessed = mimetypes.guess_type(filename or "")[0]
    return guessed or "application/octet-stream"


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` value naming ``filename``: an ASCII fallback (quotes and
    controls replaced) and the exact name in RFC 6266's ``filename*``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON for a ``<pre>`` (the template escapes it)."""
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


def page_url(path: str, params: Mapping[str, str | None]) -> str:
    """``path`` with the non-empty ``params`` as its query (a filter form's stable URL)."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: line numbers and text of each side (None: no line
    on that side), and what happened (``equal``, ``changed``, ``removed``, ``added``)."""

    change: str
    old_number: int | None
    old_text: str | None
    new_number: int | None
    new_text: str | None


_OPS = {"replace": "changed", "delete": "removed", "insert": "added", "equal": "equal"}


def side_by_side(old: str, new: str) -> list[DiffRow]:
    """Every line of ``old`` and ``new`` paired up as :func:`difflib.SequenceMatcher` matches
    them; a changed block longer on one side leaves the other side's cells empty."""
    left, right = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    matcher = SequenceMatcher(a=left, b=right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            has_old, has_new = i < i2, j < j2
            change = _OPS[op]
            if op == "replace" and not has_new:
                change = "removed"
            elif op == "replace" and not has_old:
                change = "added"
            rows.append(
                DiffRow(
                    change=change,
                    old_number=i + 1 if has_old else None,
                    old_text=left[i] if has_old else None,
                    new_number=j + 1 if has_new else None,
                    new_text=right[j] if has_new else None,
                )
            )
    return rows
