"""Reading YAML and JSON evidence (API specs, Helm chart files) safely, with limits.

:func:`parse_yaml` is ``yaml.safe_load`` plus the guards the contract parser has
(``core/contract.py``), written for plain data instead of contracts: the document must be one
YAML document of plain mappings, sequences and scalars; duplicate keys are refused (PyYAML would
keep the last one silently); merge keys (``<<``) are applied; aliases are counted as if expanded,
so a "billion laughs" document stops at :data:`MAX_NODES` instead of exhausting memory in
whatever walks it next (a schema validator); nesting stops at :data:`MAX_DEPTH`. Mapping keys are
kept as written (``200:`` is ``"200"``, as in JSON) and timestamps stay text, so the result is
JSON data, as Go tools that convert YAML to JSON see it.

Errors are :class:`DocumentError`, whose text names the line; callers prefix the file name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.core import jsonload
from chainproof.core.digest import Digest
from chainproof.core.materials._common import existing_file
from chainproof.errors import MaterialError

if TYPE_CHECKING:
    import yaml

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
"""Largest spec file read (the biggest public OpenAPI documents are about 10 MB of JSON)."""
MAX_NODES = 2_000_000
"""Values in one document, aliases expanded."""
MAX_DEPTH = 200
"""Nesting of mappings and sequences."""

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_AS_TEXT = frozenset({"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})
_SCALARS = frozenset(
    {
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
    }
)


class DocumentError(ValueError):
    """A YAML or JSON document that cannot be read; ``str()`` is the reason (with its line)."""


def read_text(
    kind: str, value: str, max_bytes: int = MAX_DOCUMENT_BYTES
) -> tuple[Path, Digest, int, str]:
    """Path, digest, size and UTF-8 text of the evidence file ``value``, read once.

    MaterialError for a missing, empty, unreadable, too large or non-UTF-8 file.
    """
    path = existing_file(kind, value)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise MaterialError(f"{kind}: cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        mib, rest = divmod(max_bytes, 1024 * 1024)
        limit = f"{mib} MiB" if mib and not rest else f"{max_bytes} bytes"
        raise MaterialError(
            f"{path.name} is larger than {limit}, the limit for {kind}",
            hint="add it as ARTIFACT if it must be kept",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MaterialError(f"{path.name} is not UTF-8 text (byte {exc.start})") from exc
    return path, Digest.of_bytes(data), len(data), text


def parse_json_or_yaml(text: str) -> Any:
    """The data of a JSON or YAML document; DocumentError naming the line when it is neither.

    A text starting with ``{`` or ``[`` is JSON; should it not parse as JSON but parse as YAML
    (a YAML flow mapping), the YAML reading is kept, otherwise the JSON error is reported.
    """
    if text.lstrip(" \t\r\n").startswith(("{", "[")):
        try:
            return jsonload.loads(text)
        except json.JSONDecodeError as exc:
            json_error = DocumentError(
                f"not JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            )
        except jsonload.JsonError as exc:  # a repeated key, or nested too deeply
            raise DocumentError(exc.message) from None
        try:
            return parse_yaml(text)
        except DocumentError:
            raise json_error from None
    return parse_yaml(text)


def parse_yaml(text: str, *, max_nodes: int = MAX_NODES) -> Any:
    """The data of one YAML document (None when it is empty); DocumentError otherwise."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "malformed"
        if err.context and problem.startswith("but "):  # "expected one document but found ..."
            problem = f"{err.context} {problem}"
        raise DocumentError(f"not YAML{where}: {problem}") from None
    except yaml.YAMLError as err:
        raise DocumentError(f"not YAML: {str(err).splitlines()[0]}") from None
    except RecursionError:
        raise DocumentError("the document is nested too deeply") from None
    if node is None:
        return None
    return _Builder(max_nodes).build(node, 0)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    """Plain data from a YAML node graph, counting aliased nodes at each use."""

    def __init__(self, max_nodes: int) -> None:
        import yaml

        self.yaml = yaml
        self.max_nodes = max_nodes
        self.nodes = 0
        self.built: dict[int, tuple[Any, int]] = {}  # id(collection node) -> (value, size)
        self.active: set[int] = set()
        self.constructor = yaml.SafeLoader("")

    def count(self, size: int) -> None:
        self.nodes += size
        if self.nodes > self.max_nodes:
            raise DocumentError(
                f"the document has more than {self.max_nodes} values once its aliases are expanded"
            )

    def build(self, node: yaml.Node, depth: int) -> Any:
        yaml = self.yaml
        if isinstance(node, yaml.ScalarNode):
            self.count(1)
            return self.scalar(node)
        key = id(node)
        if key in self.built:  # an alias: its whole subtree counts again
            shared, size = self.built[key]
            self.count(size)
            return shared
        if key in self.active:
            raise DocumentError(f"recursive alias at line {_line(node)}")
        if depth >= MAX_DEPTH:
            raise DocumentError(f"nested deeper than {MAX_DEPTH} levels at line {_line(node)}")
        start = self.nodes
        self.count(1)
        self.active.add(key)
        try:
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
                value: Any = self.mapping(node, depth)
            elif isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
                value = [self.build(item, depth + 1) for item in node.value]
            else:
                raise DocumentError(f"unsupported tag {node.tag} at line {_line(node)}")
        finally:
            self.active.discard(key)
        self.built[key] = (value, self.nodes - start)
        return value

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in _AS_TEXT:
            return str(node.value)
        if node.tag not in _SCALARS:
            raise DocumentError(f"unsupported tag {node.tag} at line {_line(node)}")
        try:
            return self.constructor.yaml_constructors[node.tag](self.constructor, node)
        except (ValueError, TypeError, OverflowError, self.yaml.YAMLError) as err:
            raise DocumentError(f"cannot read the value at line {_line(node)}: {err}") from None

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        yaml = self.yaml
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # https://yaml.org/type/merge.html
                subs = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for sub in subs:
                    data = self.build(sub, depth + 1)
                    if not isinstance(sub, yaml.MappingNode) or not isinstance(data, dict):
                        raise DocumentError(
                            f"a merge key (<<) takes mappings only (line {_line(key_node)})"
                        )
                    for name, item in data.items():
                        merged.setdefault(name, item)  # the first mapping merged wins
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise DocumentError(f"mapping keys must be plain text (line {_line(key_node)})")
            name = str(key_node.value)
            if name in out:
                raise DocumentError(f"duplicate key {name!r} at line {_line(key_node)}")
            self.count(1)
            out[name] = self.build(value_node, depth + 1)
        for name, item in merged.items():
            out.setdefault(name, item)
        return out


__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_NODES",
    "DocumentError",
    "parse_json_or_yaml",
    "parse_yaml",
    "read_text",
]
