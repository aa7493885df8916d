"""The hosts policies' ``http.send`` may reach: an organisation's ``policy_allowed_hostnames``
on the control plane, plus ``--allowed-hostnames`` where the CLI evaluates.

A host is a DNS name or an IP address, matched exactly and case-insensitively against the
request URL's host (any port, http or https), as Chainloop's allow-list does; there are no
wildcards. None allowed (the default): a policy that calls ``http.send`` is refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from chainproof.errors import InvalidInput

__all__ = ["parse_hostnames"]

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _valid(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in host.split("."))


def parse_hostnames(values: Iterable[str]) -> list[str]:
    """Host names from ``values`` (each may be comma-separated): lower case, sorted, without
    duplicates. InvalidInput for one that is not a bare host name (no scheme, port or path)."""
    out: set[str] = set()
    for value in values:
        for part in value.split(","):
            host = part.strip().lower()
            if not host:
                continue
            if not _valid(host):
                raise InvalidInput(
                    f"{part.strip()!r} is not a host name",
                    hint="give bare host names, comma-separated: api.example.com,www.cisa.gov "
                    "(no scheme, port or path)",
                )
            out.add(host.strip("[]"))
    return sorted(out)
