"""``chainproof apply``: create or update contracts, policies and policy groups from
multi-document YAML files, as Chainloop's ``apply -f`` does for contracts.

Every document names itself (``kind`` and ``metadata.name``). All documents are read and
checked locally before anything is sent, so a bad one changes nothing. Policies and groups
are applied before contracts (a contract may name them). Applying the same files again
changes nothing: a contract whose spec means the same, or a policy with the same digest, is
reported ``unchanged``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chainproof.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient

__all__ = ["Change", "Document", "apply", "plan", "read_documents"]

KINDS = ("Policy", "PolicyGroup", "Contract")
"""In the order they are applied."""
_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    """One document of a file: its kind, name, text and where it came from."""

    kind: str
    name: str
    text: str
    source: str


@dataclass
class Change:
    """What applying a document does (or, in a dry run, would do)."""

    kind: str
    name: str
    action: str  # created | updated | unchanged
    revision: int | None = None
    diff: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``-o json``."""
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "revision": self.revision,
            "diff": "".join(self.diff),
        }


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
        else:
            out.append(path)
    return out


def read_documents(paths: Iterable[Path]) -> list[Document]:
    """The documents of ``paths`` (files, or directories: their .yaml/.yml/.json files),
    ordered Policy, PolicyGroup, Contract; InvalidInput naming the file and document for
    one without ``kind`` and ``metadata.name``, of another kind, or a name given twice."""
    import yaml

    docs: list[Document] = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidInput(f"cannot read {path}: {err}") from None
        chunks = [c for c in _SEPARATOR.split(text) if c.strip()]
        for i, chunk in enumerate(chunks, 1):
            where = f"{path} (document {i})"
            try:
                data = yaml.safe_load(chunk)
            except yaml.YAMLError as err:
                raise InvalidInput(f"{where}: not YAML: {err}") from None
            if data is None:
                continue
            docs.append(_document(data, chunk, where))
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        key = ("Contract" if doc.kind == "Contract" else "Policy", doc.name)
        if key in seen:
            raise InvalidInput(f"{doc.source}: {doc.kind} {doc.name!r} is given twice")
        seen.add(key)
    return sorted(docs, key=lambda d: KINDS.index(d.kind))


def _document(data: Any, text: str, where: str) -> Document:
    meta = data.get("metadata") if isinstance(data, dict) else None
    kind = data.get("kind") if isinstance(data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str) or not name:
        raise InvalidInput(
            f"{where}: every document needs a kind and a metadata.name",
            hint="write contracts in the apiVersion: chainloop.dev/v1, kind: Contract form",
        )
    if kind not in KINDS:
        raise InvalidInput(f"{where}: kind {kind!r} cannot be applied (use {', '.join(KINDS)})")
    _check(kind, text, where)
    return Document(kind, name, text, where)


def _check(kind: str, text: str, where: str) -> None:
    """The document as the server will read it: errors name the file and line now."""
    if kind == "Contract":
        from chainproof.core.contract import Contract

        Contract.parse(text, source=where)
    else:
        from chainproof.policy.loader import parse_stored

        parse_stored(text, source=where)


def plan(api: ApiClient, docs: Iterable[Document]) -> list[Change]:
    """What applying ``docs`` would change, with a unified diff for each contract or policy
    that differs from what the organisation stores."""
    return [_plan_one(api, doc) for doc in docs]


def apply(api: ApiClient, docs: Iterable[Document]) -> list[Change]:
    """Create or update each document; the changes made."""
    out = []
    for doc in docs:
        change = _plan_one(api, doc)
        if change.action == "created":
            stored = _create(api, doc)
        elif change.action == "updated":
            stored = _update(api, doc)
        else:
            out.append(change)
            continue
        change.revision = int(stored.get("revision") or 0) or None
        out.append(change)
    return out


def _plan_one(api: ApiClient, doc: Document) -> Change:
    if doc.kind == "Contract":
        return _plan_contract(api, doc)
    return _plan_policy(api, doc)


def _plan_contract(api: ApiClient, doc: Document) -> Change:
    from chainproof.core.contract import Contract

    new = json.loads(json.dumps(Contract.parse(doc.text, source=doc.source).to_dict()))
    try:
        current = api.get_contract(doc.name)
    except NotFound:
        return Change(doc.kind, doc.name, "created", None, _diff(None, new, doc.name))
    old = current.get("spec") or {}
    action = "unchanged" if _same(old, new) else "updated"
    diff = [] if action == "unchanged" else _diff(old, new, doc.name)
    return Change(doc.kind, doc.name, action, current.get("revision"), diff)


def _plan_policy(api: ApiClient, doc: Document) -> Change:
    from chainproof.policy.loader import parse_stored

    new = parse_stored(doc.text, source=doc.source)
    try:
        current = api.get_policy(doc.name)
    except NotFound:
        return Change(doc.kind, doc.name, "created", None, _text_diff("", doc.text, doc.name))
    if current.get("source") == "builtin":
        raise InvalidInput(
            f"{doc.source}: {doc.name!r} is the name of a built-in policy or group",
            hint="choose another metadata.name",
        )
    if current.get("digest") == f"sha256:{new.digest}":
        return Change(doc.kind, doc.name, "unchanged", current.get("revision"))
    diff = _text_diff(str(current.get("document") or ""), doc.text, doc.name)
    return Change(doc.kind, doc.name, "updated", current.get("revision"), diff)


def _create(api: ApiClient, doc: Document) -> dict[str, Any]:
    if doc.kind == "Contract":
        return api.create_contract(doc.name, doc.text)
    return api.create_policy(doc.text)


def _update(api: ApiClient, doc: Document) -> dict[str, Any]:
    if doc.kind == "Contract":
        return api.update_contract(doc.name, doc.text)
    return api.update_policy(doc.name, doc.text)


def _same(old: Any, new: Any) -> bool:
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _diff(old: Any, new: Any, name: str) -> list[str]:
    import yaml

    before = "" if old is None else yaml.safe_dump(old, sort_keys=True)
    return _text_diff(before, yaml.safe_dump(new, sort_keys=True), name)


def _text_diff(before: str, after: str, name: str) -> list[str]:
    return list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{name} (stored)",
            tofile=f"{name} (to apply)",
        )
    )
