"""ASYNCAPI_SPEC: an AsyncAPI 2.x or 3.0 document, in JSON or YAML.

Validated against the official AsyncAPI JSON Schemas (asyncapi/spec-json-schemas), vendored in
``schemas/asyncapi-2.6.0.json`` and ``schemas/asyncapi-3.0.0.json`` (see ``schemas/README.md``;
no PyPI package ships them) and applied with jsonschema, imported inside ``craft``. As Chainloop
does, every 2.x document is checked against the 2.6.0 schema: AsyncAPI minor versions only add
fields, so a 2.0-2.5 document is a valid 2.6 one (the schema's ``asyncapi`` constant is the only
field set aside for it). A 3.0.x document is checked against 3.0.0.

The schemas cannot see ``$ref``s (their own README says so); local references (``#/...``) are
therefore checked to point somewhere in the document. References to other files or URLs are
left alone: they are never fetched.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar

from chainproof.core.materials._common import (
    ANNOTATION_PREFIX,
    detect_document_kind,
    kind_label,
    read_head,
    shorten,
)
from chainproof.core.materials._report import crafted, sniff_json, type_name
from chainproof.core.materials._structured import DocumentError, parse_json_or_yaml, read_text
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jsonschema.protocols import Validator

SPEC_VERSION = ANNOTATION_PREFIX + "api.spec_version"
NAME = ANNOTATION_PREFIX + "api.name"
VERSION = ANNOTATION_PREFIX + "api.version"
PROTOCOLS = ANNOTATION_PREFIX + "api.protocols"

SCHEMAS = {"2": "asyncapi-2.6.0.json", "3.0": "asyncapi-3.0.0.json"}
SCHEMA_VERSIONS = {"2": "2.6.0", "3.0": "3.0.0"}
SUPPORTED = "AsyncAPI 2.0 to 2.6 and 3.0"
MAX_REPORTED_ERRORS = 3
_COUNT_ERRORS_UP_TO = 100

_YAML_HEAD = re.compile(rb"""(?m)^["']?asyncapi["']?[ \t]*:""")
_JSON_HEAD = re.compile(rb'"asyncapi"\s*:\s*"')
_VERSION = re.compile(r"(2)\.[0-6]\.\d+|(3\.0)\.\d+")
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"


@functools.lru_cache(maxsize=2)
def _schema_validator(line: str) -> Validator:
    """The jsonschema validator of one vendored AsyncAPI schema, with its embedded ``$id``
    definitions registered and no remote retrieval (built once)."""
    from jsonschema.validators import validator_for
    from jsonschema_specifications import REGISTRY
    from referencing.jsonschema import DRAFT7

    text = resources.files("chainproof.core.materials").joinpath("schemas", SCHEMAS[line])
    schema = json.loads(text.read_text(encoding="utf-8"))
    registry = REGISTRY.with_resource(schema["$id"], DRAFT7.create_resource(schema)).crawl()
    validator: Validator = validator_for(schema)(schema, registry=registry)
    return validator


def _version_line(filename: str, doc: dict[str, Any]) -> tuple[str, str]:
    """The document's AsyncAPI version and the schema line ("2" or "3.0") that checks it."""
    version = doc.get("asyncapi")
    if not isinstance(version, str):
        raise MaterialError(
            f"{filename} is not a valid AsyncAPI document: 'asyncapi' is {type_name(version)}, "
            'not a version string such as "3.0.0"',
            hint='quote it in YAML: asyncapi: "3.0.0"',
        )
    match = _VERSION.fullmatch(version)
    if match is None:
        raise MaterialError(
            f"{filename}: AsyncAPI version {shorten(version, 40)!r} is not supported ({SUPPORTED})"
        )
    return version, match.group(1) or match.group(2)


def _check_kind(filename: str, doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not an AsyncAPI document: the top level is {type_name(doc)}, "
            "not an object"
        )
    if "asyncapi" not in doc:
        if "openapi" in doc or "swagger" in doc:
            raise MaterialError(
                f"{filename} is an OpenAPI document, not an AsyncAPI one",
                hint="add it with --kind OPENAPI_SPEC",
            )
        other = detect_document_kind(doc)
        if other is not None:
            raise MaterialError(
                f"{filename} is a {kind_label(other)} document, not an AsyncAPI one",
                hint=f"add it with --kind {other}",
            )
        raise MaterialError(
            f"{filename} is not an AsyncAPI document: it has no 'asyncapi' version field",
            hint=f"supported: {SUPPORTED}",
        )
    return doc


def _describe(error: Any) -> str:
    """``channels.lights.subscribe: ...`` for one jsonschema error, at its most relevant cause.

    Most AsyncAPI objects are "a Reference or the object" (oneOf): the Reference branch's
    "'$ref' is a required property" is never the answer when the other branch has a reason.
    """
    from jsonschema.exceptions import best_match

    while error.context:
        alternatives = [a for a in error.context if not _reference_branch(a)] or error.context
        error = best_match(alternatives) or alternatives[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    prefix = f"{where.lstrip('.')}: " if where else ""
    return prefix + shorten(_message(error), 160)


def _message(error: Any) -> str:
    """jsonschema's message, except "'x' does not match any of the regexes: '^x-...'" (a field
    the object does not have, next to x- extensions) which becomes "unexpected field 'x'"."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return str(error.message)
    known = schema.get("properties") or {}
    patterns = schema.get("patternProperties") or {}
    extras = [
        key
        for key in error.instance
        if key not in known and not any(re.search(p, key) for p in patterns)
    ]
    if not extras:
        return str(error.message)
    return f"unexpected field{'s' if len(extras) > 1 else ''} " + ", ".join(map(repr, extras))


def _reference_branch(error: Any) -> bool:
    return error.validator == "required" and "'$ref'" in str(error.message)


def _local_refs(node: Any, at: str = "") -> Iterator[tuple[str, str]]:
    """``(where, ref)`` of every ``$ref`` string starting with ``#`` in the document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            yield at or "document", ref
        for key, value in node.items():
            yield from _local_refs(value, f"{at}.{key}" if at else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _local_refs(value, f"{at}[{index}]")


def _resolves(doc: Any, ref: str) -> bool:
    """Whether the JSON pointer of ``#/a/b`` names a value of ``doc`` (RFC 6901)."""
    from urllib.parse import unquote

    pointer = unquote(ref[1:])
    if pointer == "":
        return True
    if not pointer.startswith("/"):
        return False  # a plain-name fragment ($id anchors): not used by AsyncAPI documents
    node = doc
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _validate(filename: str, version: str, line: str, doc: dict[str, Any]) -> None:
    checked = {**doc, "asyncapi": SCHEMA_VERSIONS[line]}  # see the module docstring
    try:
        errors = list(
            itertools.islice(_schema_validator(line).iter_errors(checked), _COUNT_ERRORS_UP_TO + 1)
        )
        problems = [_describe(e) for e in errors]
        if not problems:
            problems = [
                f"{where}: $ref {shorten(ref, 120)!r} points to nothing in the document"
                for where, ref in itertools.islice(_local_refs(doc), 100_000)
                if not _resolves(doc, ref)
            ][: _COUNT_ERRORS_UP_TO + 1]
    except RecursionError:
        problems = ["the document is nested too deeply"]
    if not problems:
        return
    shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
    more = len(problems) - MAX_REPORTED_ERRORS
    if more > 0:
        shown += f" (and {more}{'+' if len(problems) > _COUNT_ERRORS_UP_TO else ''} more)"
    raise MaterialError(
        f"{filename} is not a valid AsyncAPI {version} document: {shown}",
        hint=f"checked against the AsyncAPI {SCHEMA_VERSIONS[line]} JSON Schema",
    )


def _operation_count(line: str, doc: dict[str, Any]) -> int:
    if line == "3.0":
        return len([k for k in doc.get("operations") or {} if not str(k).startswith("x-")])
    channels = doc.get("channels") or {}
    return sum(
        1
        for channel in channels.values()
        if isinstance(channel, dict)
        for op in ("publish", "subscribe")
        if isinstance(channel.get(op), dict)
    )


def _summary(version: str, line: str, doc: dict[str, Any]) -> dict[str, Any]:
    info = doc.get("info") or {}
    servers = doc.get("servers") or {}
    protocols = sorted(
        {
            str(server["protocol"])
            for server in servers.values()
            if isinstance(server, dict) and isinstance(server.get("protocol"), str)
        }
    )
    channels = doc.get("channels") or {}
    return {
        "spec_version": version,
        "title": info.get("title"),
        "version": info.get("version"),
        "channel_count": len([k for k in channels if not str(k).startswith("x-")]),
        "operation_count": _operation_count(line, doc),
        "server_count": len(servers),
        "protocols": protocols,
    }


class AsyncApiSpecHandler:
    """Validates an AsyncAPI 2.x/3.0 document and summarises its channels and servers."""

    kind: ClassVar[str] = "ASYNCAPI_SPEC"

    def accepts(self, value: str) -> bool:
        """A JSON or YAML file with a top-level ``asyncapi`` field."""
        got = read_head(value)
        if got is None:
            return False
        head = got[0].lstrip(_BOM_AND_SPACE)
        if head.startswith(b"{"):
            found = sniff_json(value, b"{", (_JSON_HEAD,))
            if found is None:  # small but broken JSON: craft says what is wrong
                return bool(_JSON_HEAD.search(head))
            return "asyncapi" in found if isinstance(found, dict) else found is True
        return bool(_YAML_HEAD.search(head))

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty/unreadable file, text that is neither JSON
        nor YAML, another kind of document, an unsupported version, schema violations (the
        first few) or a local ``$ref`` that points to nothing."""
        path, digest, size, text = read_text(self.kind, value)
        try:
            doc = _check_kind(path.name, parse_json_or_yaml(text))
        except DocumentError as exc:
            raise MaterialError(
                f"{path.name} is not a valid AsyncAPI document: {exc}",
                hint="the file may be truncated, or not JSON or YAML at all",
            ) from None
        version, line = _version_line(path.name, doc)
        _validate(path.name, version, line, doc)
        summary = _summary(version, line, doc)
        annotations = {SPEC_VERSION: version}
        if isinstance(summary["title"], str) and summary["title"]:
            annotations[NAME] = summary["title"]
        if isinstance(summary["version"], str) and summary["version"]:
            annotations[VERSION] = summary["version"]
        if summary["protocols"]:
            annotations[PROTOCOLS] = ",".join(summary["protocols"])
        return crafted(self.kind, name, path, digest, size, summary, annotations)
