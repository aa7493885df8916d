"""OSSF_SCORECARD_JSON: an OpenSSF Scorecard result (``scorecard --format json``, format v2).

Validated with jsonschema against Scorecard's own JSON schema, ``pkg/scorecard/json.v2.schema``
of github.com/ossf/scorecard, vendored unchanged in ``schemas/scorecard-json.v2.schema.json``
(see ``schemas/README.md``: no PyPI package ships it). Scorecard's encoder writes Go nil slices
as ``null``, so real results carry ``"details": null`` (without ``--show-details``) and
``"metadata": null``, which that schema refuses; as Chainloop does, the schema is relaxed when
loaded to allow ``null`` for both and their absence (the Scorecard API omits ``metadata``).
On top of the schema, check scores must be integers from -1 (inconclusive) to 10, and the
aggregate score a number in the same range.

The summary holds the aggregate score, the repository and commit scored, the Scorecard version
and each check's score; annotations record the tool and the score, as Chainloop does.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core.materials._common import ANNOTATION_PREFIX
from chainproof.core.materials._report import (
    crafted,
    field_error,
    load_json,
    sniff_json,
    tools_annotations,
    type_name,
)
from chainproof.core.materials._schema import MAX_REPORTED_ERRORS, format_error
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

SCHEMA_FILE = "scorecard-json.v2.schema.json"
SCORE = ANNOTATION_PREFIX + "scorecard.score"
MIN_SCORE = -1  # checker.InconclusiveResultScore
MAX_SCORE = 10  # checker.MaxResultScore

_COUNT_ERRORS_UP_TO = 100
_LABEL = "OpenSSF Scorecard"
_HINT = "write it with scorecard --repo <repo> --format json"
_SCORECARD = re.compile(rb'"scorecard"\s*:\s*\{')
_CHECKS = re.compile(rb'"checks"\s*:\s*\[')


def relaxed_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Scorecard's v2 schema with ``details`` and ``metadata`` nullable and optional."""
    relaxed = copy.deepcopy(schema)
    check = relaxed["properties"]["checks"]["items"]
    check["properties"]["details"]["type"] = ["array", "null"]
    check["required"] = [k for k in check["required"] if k != "details"]
    relaxed["properties"]["metadata"]["type"] = ["array", "null"]
    relaxed["required"] = [k for k in relaxed["required"] if k != "metadata"]
    return relaxed


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Validator:
    # Not _schema.schema_validator: the vendored schema is relaxed before use.
    # The schema names "http://json-schema.org/schema#" (whatever draft is current); it only
    # uses keywords that mean the same in every draft, so draft 7 validates it as intended.
    from jsonschema import Draft7Validator

    text = resources.files("chainproof.core.materials").joinpath("schemas", SCHEMA_FILE)
    schema = relaxed_schema(json.loads(text.read_text(encoding="utf-8")))
    validator: Validator = Draft7Validator(schema)
    return validator


def _is_result(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("scorecard"), dict)
        and isinstance(doc["scorecard"].get("version"), str)
        and isinstance(doc.get("checks"), list)
    )


def _check(filename: str, doc: Any) -> None:
    """MaterialError unless ``doc`` is a valid Scorecard v2 result."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not an {_LABEL} result: the top level is {type_name(doc)}, "
            "not an object",
            hint=_HINT,
        )
    if "runs" in doc and "scorecard" not in doc:
        raise MaterialError(
            f"{filename} is a SARIF log, not an {_LABEL} JSON result",
            hint="add it with --kind SARIF, or write JSON with scorecard --format json",
        )
    scorecard = doc.get("scorecard")
    if not isinstance(scorecard, dict) or not isinstance(scorecard.get("version"), str):
        raise MaterialError(
            f"{filename} is not an {_LABEL} result: it has no scorecard.version",
            hint=_HINT,
        )
    validator = _schema_validator()
    errors = list(itertools.islice(validator.iter_errors(doc), _COUNT_ERRORS_UP_TO + 1))
    if errors:
        shown = "; ".join(format_error(e) for e in errors[:MAX_REPORTED_ERRORS])
        more = len(errors) - MAX_REPORTED_ERRORS
        if more > 0:
            shown += f" (and {more}{'+' if len(errors) > _COUNT_ERRORS_UP_TO else ''} more)"
        raise MaterialError(
            f"{filename} is not a valid {_LABEL} v2 result: {shown}",
            hint="check it against pkg/scorecard/json.v2.schema of ossf/scorecard",
        )
    score = doc["score"]
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise field_error(filename, _LABEL, "score", f"{score} is not within -1..10")
    for index, check in enumerate(doc["checks"]):
        if not MIN_SCORE <= check["score"] <= MAX_SCORE:
            raise field_error(
                filename,
                _LABEL,
                f"checks[{index}] ({check['name']}) score",
                f"{check['score']} is not within -1..10",
            )


class OssfScorecardJsonHandler:
    """Validates an OpenSSF Scorecard JSON result and records its scores."""

    kind: ClassVar[str] = "OSSF_SCORECARD_JSON"

    def accepts(self, value: str) -> bool:
        """A JSON object with a ``scorecard`` object (naming its version) and ``checks``."""
        found = sniff_json(value, b"{", (_SCORECARD,), (_CHECKS,))
        if isinstance(found, dict):
            return _is_result(found)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a document without
        ``scorecard.version``, a schema violation, or a score out of range."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        _check(path.name, doc)
        checks: list[dict[str, Any]] = doc["checks"]
        tool = {"name": "scorecard", "version": doc["scorecard"]["version"] or None}
        summary: dict[str, Any] = {
            "score": doc["score"],
            "repo": {"name": doc["repo"]["name"], "commit": doc["repo"].get("commit")},
            "date": doc["date"],
            "scorecard": {
                "version": doc["scorecard"]["version"],
                "commit": doc["scorecard"]["commit"],
            },
            "check_count": len(checks),
            "checks": {c["name"]: c["score"] for c in checks},
            "inconclusive_checks": sum(1 for c in checks if c["score"] == MIN_SCORE),
        }
        annotations = tools_annotations([tool])
        annotations[SCORE] = json.dumps(doc["score"])
        return crafted(self.kind, name, path, digest, size, summary, annotations)
