"""Helpers shared by the VEX and advisory kinds (CSAF, OpenVEX): offline JSON Schema validation
whose messages name each violation by its JSON pointer (RFC 6901).

The schemas are vendored in ``schemas/`` (see its README). ``$ref`` to other published schemas
(CSAF's CVSS references) resolve from vendored copies through a :mod:`referencing` registry that
has no retriever, so validation never touches the network. jsonschema and referencing are
imported on first use; each validator is built once per process.

``format`` is asserted for ``date-time`` (RFC 3339 §5.6) and ``uri`` (an absolute URI, RFC 3986
§4.3) with the checks below, so that the result does not depend on which optional format
packages happen to be installed next to jsonschema.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from chainproof.core.materials._common import shorten
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

MAX_REPORTED_ERRORS = 3
_COUNT_ERRORS_UP_TO = 100

_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
    r"(?:[Zz]|[+-](\d{2}):(\d{2}))",
    re.ASCII,
)
# scheme ":" then only unreserved, reserved and percent-encoded characters (RFC 3986 §2)
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*",
    re.ASCII,
)


def is_rfc3339_date_time(value: object) -> bool:
    """RFC 3339 ``date-time`` (``2024-05-01T12:00:00Z``, offset required); True for
    non-strings, which ``type`` checks instead."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    offset_ok = match.group(7) is None or (int(match.group(7)) <= 23 and int(match.group(8)) <= 59)
    # second 60 is a leap second (RFC 3339 §5.7)
    return hour <= 23 and minute <= 59 and second <= 60 and offset_ok


def is_uri(value: object) -> bool:
    """An absolute URI (a scheme, then only characters RFC 3986 allows); True for non-strings."""
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


def _read_schema(filename: str) -> Any:
    text = resources.files("chainproof.core.materials").joinpath("schemas", filename)
    return json.loads(text.read_text(encoding="utf-8"))


@functools.cache
def schema_validator(filename: str, references: tuple[tuple[str, str], ...] = ()) -> Validator:
    """The validator of ``schemas/<filename>`` for the draft it declares, with each
    ``(uri, vendored file)`` of ``references`` registered so that ``$ref: uri`` resolves offline.
    """
    from jsonschema import FormatChecker
    from jsonschema.validators import validator_for
    from referencing import Registry, Resource

    schema = _read_schema(filename)
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(_read_schema(file))) for uri, file in references
    )
    checker = FormatChecker(formats=())
    checker.checks("date-time")(is_rfc3339_date_time)
    checker.checks("uri")(is_uri)
    validator: Validator = validator_for(schema)(schema, registry=registry, format_checker=checker)
    return validator


def json_pointer(path: Iterable[Any]) -> str:
    """The RFC 6901 pointer of a jsonschema error path (``/vulnerabilities/0/cve``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def where(pointer: str) -> str:
    """A pointer as shown in messages: the empty (whole-document) pointer reads ``(root)``."""
    return pointer or "(root)"


def most_relevant(error: Any) -> Any:
    """For a ``oneOf``/``anyOf`` failure, the error inside the alternative that came closest
    (fewest errors), deepest first; other errors as they are.

    jsonschema's ``best_match`` stops at the ``oneOf`` itself when alternatives fail equally
    deep, which would print the whole instance (a CVSS v3 object fails both the v3.0 and the
    v3.1 schema) instead of the one wrong field.
    """
    while error.context:
        branches: dict[Any, list[Any]] = {}
        for inner in error.context:
            branches.setdefault(inner.relative_schema_path[0], []).append(inner)
        closest = min(branches.values(), key=len)
        error = max(closest, key=lambda e: len(e.absolute_path))
    return error


def format_error(error: Any) -> str:
    """``/document/tracking/status: 'done' is not one of [...]`` for one jsonschema error."""
    inner = most_relevant(error)
    return f"{where(json_pointer(inner.absolute_path))}: {shorten(str(inner.message), 160)}"


def join_problems(problems: list[str], total: int | None = None, *, more_known: bool = True) -> str:
    """The first :data:`MAX_REPORTED_ERRORS` problems joined, with ``(and N more)``."""
    count = len(problems) if total is None else total
    shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
    more = count - MAX_REPORTED_ERRORS
    if more > 0:
        shown += f" (and {more}{'' if more_known else '+'} more)"
    return shown


def check_schema(
    validator: Validator, doc: Any, *, filename: str, label: str, hint: str | None
) -> None:
    """MaterialError ``<file> is not a valid <label> document: <pointer>: <problem>; ...``
    unless ``doc`` is valid."""
    errors = list(itertools.islice(validator.iter_errors(doc), _COUNT_ERRORS_UP_TO + 1))
    if not errors:
        return
    shown = join_problems(
        [format_error(e) for e in errors[:MAX_REPORTED_ERRORS]],
        len(errors),
        more_known=len(errors) <= _COUNT_ERRORS_UP_TO,
    )
    raise MaterialError(f"{filename} is not a valid {label} document: {shown}", hint=hint)


def get(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...`` or None when a level is missing or not an object."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def text_or_none(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


# --- which VEX format a parsed document is -------------------------------------------------------

OPENVEX_CONTEXT = "https://openvex.dev/ns"
"""Every OpenVEX ``@context`` starts with this (``https://openvex.dev/ns/v0.2.0``)."""

CSAF_KINDS: dict[str, str] = {
    "csaf_vex": "CSAF_VEX",
    "csaf_informational_advisory": "CSAF_INFORMATIONAL_ADVISORY",
    "csaf_security_advisory": "CSAF_SECURITY_ADVISORY",
    "csaf_security_incident_response": "CSAF_SECURITY_INCIDENT_RESPONSE",
}
"""``/document/category`` of each CSAF 2.0 profile (§4.2-4.5) -> its evidence kind."""

CSAF_LABELS: dict[str, str] = {
    "CSAF_VEX": "CSAF VEX",
    "CSAF_INFORMATIONAL_ADVISORY": "CSAF informational advisory",
    "CSAF_SECURITY_ADVISORY": "CSAF security advisory",
    "CSAF_SECURITY_INCIDENT_RESPONSE": "CSAF security incident response",
}


def is_openvex(doc: Any) -> bool:
    """Whether ``doc`` claims to be OpenVEX (its ``@context``)."""
    context = get(doc, "@context")
    return isinstance(context, str) and context.startswith(OPENVEX_CONTEXT)


def is_csaf(doc: Any) -> bool:
    """Whether ``doc`` claims to be CSAF (a ``document`` object with ``csaf_version``)."""
    return isinstance(get(doc, "document"), dict) and "csaf_version" in doc["document"]


def csaf_kind_of(doc: Any) -> str | None:
    """The evidence kind of a CSAF document's profile, or None (not CSAF, or CSAF base)."""
    if not is_csaf(doc):
        return None
    category = get(doc, "document", "category")
    return CSAF_KINDS.get(category) if isinstance(category, str) else None
