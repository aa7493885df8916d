"""Chainloop's environment variables that chainproof reads where they mean the same thing,
so that CI scripts written for Chainloop keep working (docs/migrating-from-chainloop.md).

A ``CHAINPROOF_*`` variable always wins over its Chainloop alias when both are set. Variables
whose meaning differs (``CHAINLOOP_CONTROL_PLANE_API`` is a gRPC ``host:port``, not a URL)
are deliberately not aliased. Kept import-light: the CLI's options read it at start.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALIASES", "envvars", "lookup"]

ALIASES: dict[str, str] = {
    "CHAINPROOF_TOKEN": "CHAINLOOP_TOKEN",
    "CHAINPROOF_KEY_PASSWORD": "CHAINLOOP_SIGNING_PASSWORD",
    "CHAINPROOF_REGISTRY_SERVER": "CHAINLOOP_REGISTRY_SERVER",
    "CHAINPROOF_REGISTRY_USERNAME": "CHAINLOOP_REGISTRY_USERNAME",
    "CHAINPROOF_REGISTRY_PASSWORD": "CHAINLOOP_REGISTRY_PASSWORD",
}
"""chainproof's variable -> Chainloop's variable of the same meaning."""


def envvars(name: str, *more: str) -> list[str]:
    """The variables a CLI option reads, in precedence order: ``name``, then ``more``, then
    ``name``'s Chainloop alias (Click takes the first one that is set)."""
    alias = ALIASES.get(name)
    return [name, *more, *([alias] if alias else [])]


def lookup(environ: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str | None]:
    """The values of a set of variables that belong together (e.g. a registry's server, user
    and password), all from chainproof's names when any of them is set, else all from the
    Chainloop aliases: never a chainproof user with a Chainloop password."""
    if any(environ.get(n) for n in names):
        return {n: environ.get(n) for n in names}
    return {n: environ.get(ALIASES.get(n, n)) for n in names}
