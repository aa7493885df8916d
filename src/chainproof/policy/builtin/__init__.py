"""The built-in policy library, shipped in the package (one ``<name>.yaml`` per policy/group).

A contract attaches one by its bare name (``ref: sbom-ntia``); ``docs/policies.md`` describes
each, its inputs and when it skips.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from chainproof.errors import PolicyError
from chainproof.policy.document import Policy, PolicyGroup, parse_document

__all__ = ["load", "names", "raw"]


@cache
def names() -> tuple[str, ...]:
    """The names of the built-in policies and groups, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml")))


@cache
def load(name: str) -> Policy | PolicyGroup:
    """The built-in policy or group ``name``; PolicyError listing the names when unknown."""
    return parse_document(raw(name), source=f"builtin/{name}.yaml")


def raw(name: str) -> bytes:
    """The document text of the built-in ``name`` (its digest is the parsed document's), so
    the control plane can show it; PolicyError listing the names when unknown."""
    if name not in names():
        raise PolicyError(
            f"unknown policy {name!r}; built-in policies: {', '.join(names())}",
            hint="use a built-in name, or a file:// or https:// reference",
            ref=name,
        )
    return resources.files(__name__).joinpath(f"{name}.yaml").read_bytes()
