"""YELP_DETECT_SECRETS_BASELINE: a ``.secrets.baseline`` written by Yelp's detect-secrets.

detect-secrets publishes no JSON Schema, and its own loader (``detect_secrets.core.baseline``)
would pull the whole scanner and its plugins in as a dependency, so the checks are written by
hand after the baseline it writes (``baseline.format_for_output``): an object with a string
``version``, a ``plugins_used`` array of objects with a string ``name``, and a ``results``
object mapping each file name to an array of secrets, each with string ``type`` and
``hashed_secret``. ``line_number`` is an integer when present: ``detect-secrets scan --slim``
leaves it (and ``generated_at``) out, and detect-secrets itself loads such baselines.
``filters_used`` and ``generated_at`` are optional (older versions omit them).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chainproof.core.materials._report import (
    count_by,
    crafted,
    field_error,
    load_json,
    sniff_json,
    tools_annotations,
    type_name,
)
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

_LABEL = "detect-secrets baseline"
_PLUGINS = re.compile(rb'"plugins_used"\s*:\s*\[')
_RESULTS = re.compile(rb'"results"\s*:\s*\{')
_VERSION = re.compile(rb'"version"\s*:\s*"')


def _is_baseline(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("plugins_used"), list)
        and isinstance(doc.get("results"), dict)
        and isinstance(doc.get("version"), str)
    )


def _check(filename: str, doc: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """All secrets and plugin names of a baseline; MaterialError on the first problem."""
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not a {_LABEL}: the top level is {type_name(doc)}, not an object"
        )
    missing = [k for k in ("version", "plugins_used", "results") if k not in doc]
    if missing:
        raise MaterialError(
            f"{filename} is not a {_LABEL}: missing {', '.join(missing)}",
            hint="create it with detect-secrets scan > .secrets.baseline",
        )
    if not isinstance(doc["version"], str):
        raise field_error(filename, _LABEL, "version", "is not a string")
    plugins = doc["plugins_used"]
    if not isinstance(plugins, list):
        raise field_error(filename, _LABEL, "plugins_used", "is not an array")
    names: list[str] = []
    for index, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("name"), str):
            raise field_error(filename, _LABEL, f"plugins_used[{index}]", "has no string 'name'")
        names.append(plugin["name"])
    results = doc["results"]
    if not isinstance(results, dict):
        raise field_error(filename, _LABEL, "results", "is not an object of file -> secrets")
    secrets: list[dict[str, Any]] = []
    for file, found in results.items():
        if not isinstance(found, list):
            raise field_error(filename, _LABEL, f"results[{file!r}]", "is not an array")
        for index, secret in enumerate(found):
            where = f"results[{file!r}][{index}]"
            if not isinstance(secret, dict):
                raise field_error(filename, _LABEL, where, "is not an object")
            for key in ("type", "hashed_secret"):
                if not isinstance(secret.get(key), str):
                    raise field_error(filename, _LABEL, where, f"has no string '{key}'")
            line = secret.get("line_number")
            if "line_number" in secret and (not isinstance(line, int) or isinstance(line, bool)):
                raise field_error(
                    filename, _LABEL, where, "has a 'line_number' that is not an integer"
                )
            secrets.append(secret)
    return secrets, names


class DetectSecretsBaselineHandler:
    """Validates a detect-secrets baseline and counts its secrets."""

    kind: ClassVar[str] = "YELP_DETECT_SECRETS_BASELINE"

    def accepts(self, value: str) -> bool:
        """A JSON object with ``version``, ``plugins_used`` and ``results``."""
        found = sniff_json(value, b"{", (), (_PLUGINS, _RESULTS, _VERSION))
        if isinstance(found, dict):
            return _is_baseline(found)
        return found is True

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty file, non-JSON, a document without
        version/plugins_used/results, or a malformed secret entry."""
        path, digest, size, doc = load_json(self.kind, _LABEL, value)
        secrets, plugins = _check(path.name, doc)
        results: dict[str, Any] = doc["results"]
        summary: dict[str, Any] = {
            "version": doc["version"],
            "plugins": len(plugins),
            "files_with_findings": sum(1 for found in results.values() if found),
            "findings": len(secrets),
            "verified": sum(1 for s in secrets if s.get("is_verified") is True),
            "by_type": count_by(secrets, lambda s: s.get("type")),
        }
        return crafted(
            self.kind,
            name,
            path,
            digest,
            size,
            summary,
            tools_annotations([{"name": "detect-secrets", "version": doc["version"]}]),
        )
