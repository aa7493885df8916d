"""Version ranges for component search (``>=2.0,<2.17.1``), ordered the way the component's
ecosystem orders versions: Maven's ordering for ``pkg:maven``, PEP 440 for ``pkg:pypi``,
semantic versioning for npm and cargo, and so on, with univers (aboutcode's version library,
a companion to packageurl). Versions an ecosystem cannot read never match a range."""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chainproof.errors import InvalidInput

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_CLAUSE = re.compile(r"\s*(>=|<=|!=|==|>|<|=)?\s*([^\s,<>=!]+)\s*")
#: purl type → univers version class name; anything else: semver, then Maven's lenient order.
_SCHEMES = {
    "maven": "MavenVersion",
    "pypi": "PypiVersion",
    "npm": "SemverVersion",
    "cargo": "SemverVersion",
    "golang": "GolangVersion",
    "nuget": "NugetVersion",
    "gem": "RubygemsVersion",
    "deb": "DebianVersion",
    "rpm": "RpmVersion",
    "composer": "ComposerVersion",
}


@dataclass(frozen=True)
class VersionRange:
    """Clauses that must all hold: ``(operator, version text)``."""

    clauses: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        """``>=2.0,<2.17.1``; a bare version means ``==``. InvalidInput when malformed."""
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.fullmatch(part)
            if match is None:
                raise InvalidInput(
                    f"invalid version range {text!r}",
                    hint="comma-separated clauses such as '>=2.0,<2.17.1' (>=, >, <=, <, ==, !=)",
                )
            clauses.append((match[1] or "==", match[2]))
        return cls(tuple(clauses))

    def contains(self, version: str | None, purl_type: str | None) -> bool:
        """Whether ``version`` of a component of ``purl_type`` lies in the range."""
        if version is None:
            return False
        for scheme in _schemes(purl_type):
            try:
                mine = scheme(version)
                bounds = [(op, scheme(v)) for op, v in self.clauses]
            except (ValueError, TypeError):
                continue
            return all(_OPS[op](mine, bound) for op, bound in bounds)
        return False


@functools.lru_cache(maxsize=32)
def _schemes(purl_type: str | None) -> tuple[Any, ...]:
    import univers.versions as versions

    names = [_SCHEMES.get(purl_type or "", "SemverVersion"), "MavenVersion"]
    return tuple(getattr(versions, name) for name in dict.fromkeys(names))
