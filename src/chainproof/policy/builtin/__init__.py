"""The built-in policy library, shipped in the package (one ``<name>.yaml`` per policy/group).

A contract attaches one by its bare name (``ref: sbom-ntia``); ``docs/policies.md`` describes
each, its inputs and when it skips.

A built-in may reuse the Rego of another instead of copying it (the names of Chainloop's
example policies are such aliases): a script written ``ref: OTHER.yaml#KIND`` stands for the
``KIND`` script of the built-in ``OTHER``. :func:`raw` puts that script in place as an
``embedded:`` block, so the document the control plane shows and digests is self-contained,
like every stored document, and a change to the shared Rego changes the alias's digest too.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from chainproof.errors import PolicyError
from chainproof.policy.document import Policy, PolicyGroup, parse_document

__all__ = ["load", "names", "raw"]

# `ref: sbom-freshness.yaml#SBOM_CYCLONEDX_JSON`, alone on its line (not a list item's first key)
_SHARED = re.compile(
    r"^(?P<indent>[ ]*)ref: (?P<name>[a-z0-9-]+)\.yaml#(?P<kind>[A-Z_]+)[ ]*$", re.MULTILINE
)


@cache
def names() -> tuple[str, ...]:
    """The names of the built-in policies and groups, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml")))


@cache
def load(name: str) -> Policy | PolicyGroup:
    """The built-in policy or group ``name``; PolicyError listing the names when unknown."""
    return parse_document(raw(name), source=f"builtin/{name}.yaml")


@cache
def raw(name: str) -> bytes:
    """The document text of the built-in ``name``, shared scripts put in place (its digest is
    the parsed document's), so the control plane can show it; PolicyError listing the names
    when unknown."""
    if name not in names():
        raise PolicyError(
            f"unknown policy {name!r}; built-in policies: {', '.join(names())}",
            hint="use a built-in name, or a file:// or https:// reference",
            ref=name,
        )
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return _SHARED.sub(lambda m: _embedded(name, m), text).encode("utf-8")


def _embedded(name: str, match: re.Match[str]) -> str:
    """The ``embedded: |`` block of the script a ``ref: OTHER.yaml#KIND`` line names."""
    other, kind, indent = match["name"], match["kind"], match["indent"]
    target = load(other) if other != name else None
    scripts = [s for s in target.scripts if s.kind == kind] if isinstance(target, Policy) else []
    if len(scripts) != 1:
        raise PolicyError(f"builtin/{name}.yaml: the built-in {other!r} has no {kind} script")
    body = "".join(
        f"{indent}  {line}\n" if line.strip() else "\n"
        for line in scripts[0].source.rstrip("\n").split("\n")
    )
    return f"{indent}embedded: |\n{body.rstrip(chr(10))}"
