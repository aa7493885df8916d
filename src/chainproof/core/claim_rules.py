"""Claim rules: which CI jobs a trusted OIDC issuer's ID token may stand for.

A rule compares one claim of a verified ID token with a value: ``repository ==
cyberdyne/skynet`` (exact) or ``workflow_ref glob
cyberdyne/skynet/.github/workflows/release.yml@refs/tags/*`` (a pattern matched against the
whole claim). In a pattern ``*`` and ``?`` never cross a ``/`` (``refs/heads/*`` does not
match ``refs/heads/a/b``) and ``**`` matches anything, so a pattern cannot reach further than
it reads. Every rule of a trusted issuer must hold (docs/ci-identity.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chainproof.errors import Forbidden, InvalidInput

__all__ = ["OPERATORS", "ClaimRule", "check_all"]

OPERATORS = ("==", "glob")
_CLAIM = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,99}")
_SCALARS = (str, int, bool)
_HINT = "write rules as 'CLAIM == VALUE' or 'CLAIM glob PATTERN', e.g. 'repository == acme/shop'"


@dataclass(frozen=True, kw_only=True)
class ClaimRule:
    """``claim op value``; ``str(rule)`` is the text it parses from."""

    claim: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if not _CLAIM.fullmatch(self.claim):
            raise InvalidInput(f"{self.claim!r} is not a claim name", hint=_HINT)
        if self.op not in OPERATORS:
            raise InvalidInput(f"unknown rule operator {self.op!r}", hint=_HINT)
        if not self.value or len(self.value) > 1000:
            raise InvalidInput(f"rule on {self.claim!r} needs a value of 1 to 1000 characters")

    @classmethod
    def parse(cls, text: str) -> ClaimRule:
        """``'repository == acme/shop'`` or ``'ref glob refs/tags/*'``."""
        parts = text.strip().split(None, 2)
        if len(parts) != 3:
            raise InvalidInput(f"{text!r} is not a claim rule", hint=_HINT)
        return cls(claim=parts[0], op=parts[1], value=parts[2])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClaimRule:
        """The stored form, ``{"claim", "op", "value"}``."""
        try:
            return cls(claim=str(data["claim"]), op=str(data["op"]), value=str(data["value"]))
        except KeyError as exc:
            raise InvalidInput(f"a claim rule needs {exc.args[0]!r}", hint=_HINT) from None

    def to_dict(self) -> dict[str, str]:
        return {"claim": self.claim, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        return f"{self.claim} {self.op} {self.value}"

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile(_glob_regex(self.value))

    def check(self, claims: Mapping[str, Any]) -> None:
        """Raise Forbidden naming this rule and what the token holds instead."""
        found = claims.get(self.claim)
        if found is None:
            raise Forbidden(f"rule '{self}' failed: the token has no {self.claim!r} claim")
        if not isinstance(found, _SCALARS):
            raise Forbidden(f"rule '{self}' failed: the token's {self.claim!r} is not a string")
        text = str(found).lower() if isinstance(found, bool) else str(found)
        matched = text == self.value if self.op == "==" else bool(self._pattern.fullmatch(text))
        if not matched:
            raise Forbidden(f"rule '{self}' failed: the token's {self.claim} is {text!r}")


def check_all(rules: Iterable[ClaimRule], claims: Mapping[str, Any]) -> None:
    """Raise Forbidden for the first rule ``claims`` do not satisfy."""
    for rule in rules:
        rule.check(claims)


def _glob_regex(pattern: str) -> str:
    """``**`` → anything, ``*`` → anything but ``/``, ``?`` → one character but ``/``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
