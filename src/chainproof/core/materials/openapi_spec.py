"""OPENAPI_SPEC: an OpenAPI 3.0/3.1/3.2 or Swagger 2.0 description, in JSON or YAML.

Validated with openapi-spec-validator (python-openapi, Apache-2.0): the official JSON Schema of
the document's version plus its semantic checks (duplicate operationIds and parameters,
default values against their schemas, ...). It is imported inside ``craft``, so detection and
the rest of the CLI never pay for it: about 1.3 s cold here, of which about 1 s is jsonschema's
own import (its rfc3987-syntax format checker builds a grammar) and 0.2 s the validator.

``$ref``s are resolved inside the document only: a reference to another file or a URL is never
fetched (evidence is checked as given, and a CI job must not reach the network or the file
system on behalf of a document); such a spec fails with a hint to bundle it first.

The YAML is read with :mod:`chainproof.core.materials._structured` (safe loading, no duplicate
keys, alias bombs stopped, ``200:`` keys kept as text as in JSON).
"""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar

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
from chainproof.extras import require

SPEC_VERSION = ANNOTATION_PREFIX + "api.spec_version"
NAME = ANNOTATION_PREFIX + "api.name"
VERSION = ANNOTATION_PREFIX + "api.version"

SUPPORTED = "Swagger 2.0 and OpenAPI 3.0, 3.1 and 3.2"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")
MAX_REPORTED_ERRORS = 3
_COUNT_ERRORS_UP_TO = 100

_YAML_HEAD = re.compile(
    rb"""(?m)^(?:["']?openapi["']?[ \t]*:[ \t]*["']?3\."""
    rb"""|["']?swagger["']?[ \t]*:[ \t]*["']?2\.0\b)"""
)
_JSON_HEAD = re.compile(rb'"(?:openapi"\s*:\s*"3\.|swagger"\s*:\s*"2\.0")')
_OPENAPI_VERSION = re.compile(r"3\.(\d+)\.\d+(?:-.+)?")
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"


def _claims_openapi(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    openapi, swagger = doc.get("openapi"), doc.get("swagger")
    return (isinstance(openapi, str) and openapi.startswith("3.")) or swagger == "2.0"


def _validator_class(filename: str, doc: dict[str, Any]) -> tuple[str, Any]:
    """The spec version and the openapi-spec-validator class for it; MaterialError otherwise."""
    if "openapi" in doc:
        version = doc["openapi"]
        if not isinstance(version, str):
            raise MaterialError(
                f"{filename} is not a valid OpenAPI document: 'openapi' is {type_name(version)} "
                f'({version!r}), not a version string such as "3.0.3"',
                hint='quote the version in YAML: openapi: "3.1.0"',
            )
        match = _OPENAPI_VERSION.fullmatch(version)
        minor = match.group(1) if match else None
        by_minor = {"0": "3.0", "1": "3.1", "2": "3.2"}
        if minor not in by_minor:
            raise MaterialError(
                f"{filename}: OpenAPI version {shorten(version, 40)!r} is not supported "
                f"({SUPPORTED}; the version has three numbers, e.g. 3.1.0)"
            )
        return version, _spec_validator_class(by_minor[minor])
    if "swagger" in doc:
        version = doc["swagger"]
        if version != "2.0":
            found = (
                repr(version) if isinstance(version, str) else f"{type_name(version)} {version!r}"
            )
            raise MaterialError(
                f"{filename} is not a valid Swagger document: 'swagger' is {found}, "
                'expected the string "2.0"',
                hint='quote it in YAML: swagger: "2.0"',
            )
        return version, _spec_validator_class("2.0")
    raise MaterialError(
        f"{filename} is not an OpenAPI document: it has no 'openapi' or 'swagger' version field",
        hint=f"supported: {SUPPORTED}",
    )


@functools.lru_cache(maxsize=4)
def _spec_validator_class(line: str) -> Any:
    """openapi-spec-validator's class for ``line`` ("2.0", "3.0", ...), its schema checked by
    jsonschema itself.

    NOTE: the library switches to jsonschema-rs whenever that happens to be installed (or an
    environment variable says so), which words and locates errors differently; chainproof's
    messages must not depend on what else is in the environment.
    """
    import openapi_spec_validator as osv
    from jsonschema.validators import validator_for
    from openapi_spec_validator.schemas.utils import get_schema_content

    base = {
        "2.0": osv.OpenAPIV2SpecValidator,
        "3.0": osv.OpenAPIV30SpecValidator,
        "3.1": osv.OpenAPIV31SpecValidator,
        "3.2": osv.OpenAPIV32SpecValidator,
    }[line]
    schema = get_schema_content(line)
    return type(base.__name__, (base,), {"schema_validator": validator_for(schema)(schema)})


def _check_kind(filename: str, doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise MaterialError(
            f"{filename} is not an OpenAPI document: the top level is {type_name(doc)}, "
            "not an object"
        )
    if "asyncapi" in doc:
        raise MaterialError(
            f"{filename} is an AsyncAPI document, not an OpenAPI one",
            hint="add it with --kind ASYNCAPI_SPEC",
        )
    other = detect_document_kind(doc)
    if other is not None:
        raise MaterialError(
            f"{filename} is a {kind_label(other)} document, not an OpenAPI one",
            hint=f"add it with --kind {other}",
        )
    return doc


class _NoRemoteRefs(dict[str, Any]):
    """jsonschema-path resolver handlers that refuse every external ``$ref``.

    jsonschema-path falls back to ``urlopen`` for a scheme it has no handler for, so an empty
    mapping would still fetch: this one claims every scheme and refuses it.
    """

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Any:
        return _refuse


def _refuse(uri: str) -> Any:
    raise LookupError(f"external reference {uri} is not followed")


def _where(error: Any) -> str:
    """``paths./pets.get: `` for an error inside the document, nothing at its top level."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{path.lstrip('.')}: " if path else ""


def _describe(error: Any) -> str:
    """``paths./pets.get.responses: ...`` for one validation error, preferring the deepest
    alternative of an anyOf/oneOf failure (best_match cannot rank the library's errors)."""
    alternatives = list(error.context or [])
    if alternatives and all(
        list(a.absolute_path) == list(error.absolute_path) for a in alternatives
    ):
        reasons = sorted({str(a.message) for a in alternatives})[:3]
        return f"{_where(error)}{shorten(' or '.join(reasons), 200)}"
    while alternatives:
        error = max(alternatives, key=lambda a: len(a.absolute_path))
        alternatives = list(error.context or [])
    return f"{_where(error)}{shorten(str(error.message), 160)}"


def _validate(filename: str, version: str, doc: dict[str, Any], validator_class: Any) -> None:
    from jsonschema_path import SchemaPath
    from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable

    spec = SchemaPath.from_dict(doc, handlers=_NoRemoteRefs(), resolved_cache_maxsize=128)
    validator = validator_class(spec)
    problems: list[str] = []
    try:
        for error in validator.iter_errors():
            problems.append(_describe(error))
            if len(problems) > _COUNT_ERRORS_UP_TO:
                break
    except (PointerToNowhere, NoSuchAnchor) as exc:
        ref = f"#{exc.anchor}" if isinstance(exc, NoSuchAnchor) else f"#{exc.ref}"
        problems.append(f"$ref {shorten(ref, 120)!r} points to nothing in the document")
    except Unresolvable as exc:
        raise MaterialError(
            f"{filename}: $ref {shorten(str(exc.ref), 120)!r} cannot be resolved: references "
            "to other files or URLs are not followed",
            hint="bundle the spec into one file first (redocly bundle, swagger-cli bundle)",
        ) from None
    except RecursionError:
        problems.append("the document is nested too deeply")
    except (LookupError, TypeError, AttributeError, ValueError) as exc:
        # NOTE: the library's semantic checks assume a schema-valid document and can fail on a
        # broken one after reporting its schema errors: those errors are the answer.
        if not problems:
            raise MaterialError(
                f"{filename}: openapi-spec-validator could not check it: "
                f"{type(exc).__name__}: {shorten(str(exc), 160)}"
            ) from exc
    finally:
        # NOTE: SpecValidator.iter_errors is wrapped in an unbounded lru_cache keyed by the
        # validator, which would keep every validated spec alive in a long-running process.
        cache = getattr(type(validator).iter_errors, "__wrapped__", None)
        if cache is not None and hasattr(cache, "cache_clear"):
            cache.cache_clear()
    if not problems:
        return
    label = "OpenAPI" if "openapi" in doc else "Swagger"
    shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
    more = len(problems) - MAX_REPORTED_ERRORS
    if more > 0:
        shown += f" (and {more}{'+' if len(problems) > _COUNT_ERRORS_UP_TO else ''} more)"
    raise MaterialError(f"{filename} is not a valid {label} {version} document: {shown}")


def _summary(version: str, doc: dict[str, Any]) -> dict[str, Any]:
    info = doc.get("info") or {}
    paths = doc.get("paths") or {}
    by_method: dict[str, int] = {}
    path_count = 0
    for name, item in paths.items():
        if not name.startswith("/"):
            continue  # x- extensions
        path_count += 1
        if not isinstance(item, dict):
            continue
        methods = [m for m in HTTP_METHODS if isinstance(item.get(m), dict)]
        methods += [str(m).lower() for m in (item.get("additionalOperations") or {})]  # 3.2
        for method in methods:
            by_method[method] = by_method.get(method, 0) + 1
    webhooks = doc.get("webhooks") or {}
    return {
        "spec_version": version,
        "title": info.get("title"),
        "version": info.get("version"),
        "path_count": path_count,
        "operation_count": sum(by_method.values()),
        "operations_by_method": dict(sorted(by_method.items())),
        "webhook_count": sum(1 for name in webhooks if not str(name).startswith("x-")),
    }


class OpenApiSpecHandler:
    """Validates an OpenAPI or Swagger document and counts its paths and operations."""

    kind: ClassVar[str] = "OPENAPI_SPEC"

    def accepts(self, value: str) -> bool:
        """A JSON or YAML file whose top level says ``openapi: 3.x`` or ``swagger: "2.0"``."""
        got = read_head(value)
        if got is None:
            return False
        head = got[0].lstrip(_BOM_AND_SPACE)
        if head.startswith(b"{"):
            found = sniff_json(value, b"{", (_JSON_HEAD,))
            if found is None:  # small but broken JSON: craft says what is wrong
                return bool(_JSON_HEAD.search(head))
            return _claims_openapi(found) if isinstance(found, dict) else found is True
        return bool(_YAML_HEAD.search(head))

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty/unreadable file, text that is neither JSON
        nor YAML, another kind of document, a missing or unsupported version, an external
        ``$ref``, or a document the validator rejects (the first few reasons)."""
        require("openapi_spec_validator", "specs", needed_by=self.kind)
        path, digest, size, text = read_text(self.kind, value)
        try:
            doc = _check_kind(path.name, parse_json_or_yaml(text))
        except DocumentError as exc:
            raise MaterialError(
                f"{path.name} is not a valid OpenAPI document: {exc}",
                hint="the file may be truncated, or not JSON or YAML at all",
            ) from None
        version, validator_class = _validator_class(path.name, doc)
        _validate(path.name, version, doc, validator_class)
        summary = _summary(version, doc)
        annotations = {SPEC_VERSION: version}
        if isinstance(summary["title"], str) and summary["title"]:
            annotations[NAME] = summary["title"]
        if isinstance(summary["version"], str) and summary["version"]:
            annotations[VERSION] = summary["version"]
        return crafted(self.kind, name, path, digest, size, summary, annotations)
