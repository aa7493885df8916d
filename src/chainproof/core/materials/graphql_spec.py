"""GRAPHQL_SPEC: a GraphQL schema in SDL (schema definition language).

Parsed and validated with graphql-core (the reference implementation's Python port, MIT),
imported inside ``craft``: the SDL rules (known types and directives, one definition per name,
...) and the type-system rules a server checks before serving the schema (a query root type,
interface fields implemented, union members that are object types, ...). Each error reports
its ``line:column``. This is ``graphql.build_schema`` split into its steps, because
``build_schema`` raises the SDL errors as one ``TypeError`` without their locations.

Stricter than Chainloop, which only parses: a schema that uses directives it does not define
(an Apollo Federation subgraph's ``@key``) or that lacks a ``Query`` type is rejected.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, ClassVar

from chainproof.core.materials._common import ANNOTATION_PREFIX, read_head, shorten
from chainproof.core.materials._report import crafted
from chainproof.core.materials._structured import read_text
from chainproof.core.materials.base import CraftedMaterial
from chainproof.errors import MaterialError
from chainproof.extras import require

TYPE_COUNT = ANNOTATION_PREFIX + "graphql.type_count"
DIRECTIVES = ANNOTATION_PREFIX + "graphql.directives"

EXTENSIONS = frozenset({".graphql", ".gql", ".graphqls"})
MAX_SDL_BYTES = 16 * 1024 * 1024
MAX_TOKENS = 5_000_000
MAX_REPORTED_ERRORS = 3

_KINDS = {
    "ObjectTypeDefinitionNode": "object",
    "InterfaceTypeDefinitionNode": "interface",
    "UnionTypeDefinitionNode": "union",
    "EnumTypeDefinitionNode": "enum",
    "InputObjectTypeDefinitionNode": "input",
    "ScalarTypeDefinitionNode": "scalar",
}
_SDL_START = re.compile(
    r"(?:extend\s+)?(?:schema|type|interface|input|enum|union|scalar|directive)(?=[\s{@])"
)
_SDL_BLOCK = re.compile(
    r"(?m)^[ \t]*(?:extend[ \t]+)?"
    r"(?:type[ \t]+[_A-Za-z]\w*(?:[ \t]+implements[ \t]+[^{}\n=:]*)?|schema)"
    r"(?:[ \t]*@[^{}\n=]*)?[ \t]*\{"
)
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _first_definition(text: str) -> str:
    """The text from the first token that is not a comment or a description."""
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n,\ufeff":
            i += 1
        elif text[i] == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith('"""', i):
            end = text.find('"""', i + 3)
            if end < 0:
                return ""
            i = end + 3
        elif text[i] == '"':
            match = _STRING.match(text, i)
            if match is None:
                return ""
            i = match.end()
        else:
            return text[i : i + 100]
    return ""


def _looks_like_sdl(head: bytes) -> bool:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return bool(_SDL_START.match(_first_definition(text))) and bool(_SDL_BLOCK.search(text))


def _where(error: Any) -> str:
    locations = error.locations or []
    return ", ".join(f"{loc.line}:{loc.column}" for loc in locations[:2])


def _fail(filename: str, errors: list[Any]) -> MaterialError:
    shown = "; ".join(
        f"{_where(e)}: {shorten(e.message, 160)}" if e.locations else shorten(e.message, 160)
        for e in errors[:MAX_REPORTED_ERRORS]
    )
    more = len(errors) - MAX_REPORTED_ERRORS
    if more > 0:
        shown += f" (and {more} more)"
    return MaterialError(f"{filename} is not a valid GraphQL schema: {shown}")


def _build(filename: str, text: str) -> tuple[Any, Any]:
    """The parsed document and the built schema; MaterialError with line:column otherwise."""
    from graphql import GraphQLError, build_ast_schema, parse, validate_schema
    from graphql.language import ExecutableDefinitionNode
    from graphql.validation.validate import validate_sdl

    try:
        document = parse(text, max_tokens=MAX_TOKENS)
        executable = [d for d in document.definitions if isinstance(d, ExecutableDefinitionNode)]
        if executable:
            loc = executable[0].loc
            where = f" ({loc.start_token.line}:{loc.start_token.column})" if loc else ""
            raise MaterialError(
                f"{filename} is a GraphQL query document, not a schema: it holds operations "
                f"or fragments{where}",
                hint="give the schema's SDL (e.g. the output of printSchema), or add it as "
                "ARTIFACT",
            )
        errors = validate_sdl(document)
        if errors:
            raise _fail(filename, list(errors))
        schema = build_ast_schema(document, assume_valid_sdl=True)
        errors = validate_schema(schema)
        if errors:
            raise _fail(filename, list(errors))
    except GraphQLError as exc:  # a syntax error, or too many tokens
        raise _fail(filename, [exc]) from None
    except RecursionError:
        raise MaterialError(f"{filename}: the GraphQL schema is nested too deeply") from None
    return document, schema


def _summary(document: Any, schema: Any) -> dict[str, Any]:
    from graphql.language import DirectiveDefinitionNode

    kinds = [_KINDS[type(d).__name__] for d in document.definitions if type(d).__name__ in _KINDS]
    directives = sorted(
        d.name.value for d in document.definitions if isinstance(d, DirectiveDefinitionNode)
    )

    def field_count(root: Any) -> int:
        return len(root.fields) if root is not None else 0

    return {
        "type_count": len(kinds),
        "types_by_kind": {kind: kinds.count(kind) for kind in sorted(set(kinds))},
        "query_fields": field_count(schema.query_type),
        "mutation_fields": field_count(schema.mutation_type),
        "subscription_fields": field_count(schema.subscription_type),
        "directives": directives,
    }


class GraphqlSpecHandler:
    """Validates a GraphQL SDL schema and counts its types and root fields."""

    kind: ClassVar[str] = "GRAPHQL_SPEC"

    def accepts(self, value: str) -> bool:
        """A .graphql/.gql/.graphqls file, or a text file that starts with an SDL definition
        and has a ``type X {`` or ``schema {`` block."""
        got = read_head(value)
        if got is None:
            return False
        if PurePath(value).suffix.lower() in EXTENSIONS:
            return True
        return _looks_like_sdl(got[0])

    def craft(self, name: str, value: str) -> CraftedMaterial:
        """Raises MaterialError for a missing/empty/unreadable/non-UTF-8 file, a syntax error,
        a query document, or an invalid schema (the first few errors, with line:column)."""
        require("graphql", "specs", needed_by=self.kind)
        path, digest, size, text = read_text(self.kind, value, MAX_SDL_BYTES)
        document, schema = _build(path.name, text)
        summary = _summary(document, schema)
        annotations = {TYPE_COUNT: str(summary["type_count"])}
        if summary["directives"]:
            annotations[DIRECTIVES] = ",".join(summary["directives"])
        return crafted(self.kind, name, path, digest, size, summary, annotations)
