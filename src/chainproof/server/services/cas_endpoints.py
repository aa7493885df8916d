"""Where organisation admins may point ``oci``, ``s3`` and ``azure-blob`` backends (SSRF).

A CAS backend makes the server open connections to an address an organisation admin chose:
without a limit, an admin of one tenant can probe the server's own network (databases,
admin ports, the cloud metadata service that hands out the host's credentials). The
operator sets ``CHAINPROOF_CAS_ALLOWED_ENDPOINTS`` to a comma-separated list of:

- host patterns, shell-style and case-insensitive: ``registry.example.com``,
  ``*.s3.amazonaws.com``; with a port they match that port only: ``minio.internal:9000``,
  ``[::1]:5000``;
- networks or addresses: ``10.20.0.0/16``, ``2001:db8::/32``, ``192.0.2.7``.

An endpoint is allowed when its host (and port) matches a host pattern, or when every address
its host resolves to lies in a listed network (a name that does not resolve is refused then).
Unset (the default), every endpoint is allowed, as before this setting existed. Whatever the
list, the cloud metadata addresses (169.254.169.254, fd00:ec2::254) are refused, also when a
name resolves to them, unless the list names that very address (``169.254.169.254`` or
``169.254.169.254/32``). Checked when a backend is added or changed and at every
validation (so the periodic revalidation notices a name that now resolves elsewhere); not
re-checked: HTTP redirects and the token realm a registry names.

Integrations use the same rules with their own list, ``CHAINPROOF_INTEGRATION_ALLOWED_HOSTS``
(``setting``; services/integrations.py).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from chainproof.errors import Forbidden, InvalidInput

__all__ = ["METADATA_ADDRESSES", "Endpoint", "EndpointPolicy", "endpoint_of"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: tuple[IPAddress, ...] = (
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
)
_HOST = re.compile(r"[A-Za-z0-9*?.\-]+|\[[0-9A-Fa-f:.*?]+\]")
# The registry client speaks plain HTTP to these (oci/registry.py), HTTPS to the rest.
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")
_SETTING = "CHAINPROOF_CAS_ALLOWED_ENDPOINTS"


@dataclass(frozen=True)
class Endpoint:
    """Where a backend connects: host (no brackets) and port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class _HostPattern:
    host: str  # lower case, no brackets
    port: int | None

    def matches(self, endpoint: Endpoint) -> bool:
        if self.port is not None and self.port != endpoint.port:
            return False
        return fnmatch.fnmatchcase(endpoint.host.lower(), self.host)


def _unmapped(address: IPAddress) -> IPAddress:
    """``::ffff:a.b.c.d`` is a.b.c.d (the connection goes there)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class EndpointPolicy:
    """The parsed ``CHAINPROOF_CAS_ALLOWED_ENDPOINTS``; empty allows all but metadata."""

    hosts: tuple[_HostPattern, ...] = ()
    networks: tuple[IPNetwork, ...] = ()
    text: str = ""
    setting: str = _SETTING

    @classmethod
    def parse(cls, text: str | None, setting: str = _SETTING) -> EndpointPolicy:
        """Parse the setting (named ``setting`` in messages); InvalidInput names a malformed
        entry."""
        hosts: list[_HostPattern] = []
        networks: list[IPNetwork] = []
        for raw in (text or "").split(","):
            item = raw.strip()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            hosts.append(_host_pattern(item, setting))
        shown = ", ".join(x.strip() for x in (text or "").split(",") if x.strip())
        return cls(tuple(hosts), tuple(networks), shown, setting)

    @property
    def restricted(self) -> bool:
        """Whether the operator limited the endpoints (else only metadata is refused)."""
        return bool(self.hosts or self.networks)

    def check(self, provider: str, config: Mapping[str, str], secret: Mapping[str, str]) -> None:
        """Raise Forbidden when the backend's endpoint is not allowed on this server."""
        endpoint = endpoint_of(provider, config, secret)
        if endpoint is not None:
            self.check_endpoint(endpoint, provider)

    def check_endpoint(self, endpoint: Endpoint, provider: str = "CAS") -> None:
        """Raise Forbidden unless ``endpoint`` is allowed (module docstring)."""
        addresses = _resolve(endpoint.host)
        for address in addresses:
            if address in METADATA_ADDRESSES and not self._names(address):
                raise Forbidden(
                    f"the {provider} endpoint {endpoint} reaches the cloud metadata address "
                    f"{address}: refused",
                    hint="point the backend at the storage service itself; an operator who "
                    f"really means it lists {address} in {_SETTING}",
                )
        if not self.restricted or any(p.matches(endpoint) for p in self.hosts):
            return
        if self.networks:
            if not addresses:
                raise Forbidden(
                    f"the {provider} endpoint {endpoint} does not resolve, so it cannot be "
                    "checked against the server's allowed networks",
                    hint="check the host name",
                )
            if all(_inside(a, self.networks) for a in addresses):
                return
        raise Forbidden(
            f"the {provider} endpoint {endpoint} is not allowed on this server",
            hint=f"the server's operator allows endpoints in {self.setting} (now: {self.text})",
        )

    def _names(self, address: IPAddress) -> bool:
        """Whether the list names ``address`` itself (not merely a network around it)."""
        singles = [n for n in self.networks if n.num_addresses == 1]
        if _inside(address, singles):
            return True
        return any(p.host == str(address) for p in self.hosts)


def _inside(address: IPAddress, networks: list[IPNetwork] | tuple[IPNetwork, ...]) -> bool:
    return any(address in n for n in networks if n.version == address.version)


def _host_pattern(item: str, setting: str) -> _HostPattern:
    host, port = item, None
    match = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+):(\d{1,5})", item)
    if match:
        host, port = match.group(1), int(match.group(2))
    if not _HOST.fullmatch(host) or (port is not None and not 0 < port < 65536):
        raise InvalidInput(
            f"{setting}: {item!r} is neither a host pattern, host:port nor a network",
            hint="e.g. registry.example.com, *.amazonaws.com, minio:9000, 10.0.0.0/8",
        )
    return _HostPattern(host.strip("[]").lower(), port)


def _resolve(host: str) -> list[IPAddress]:
    """Every address ``host`` stands for ([] when it does not resolve)."""
    try:
        return [_unmapped(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    found: list[IPAddress] = []
    for info in infos:
        address = _unmapped(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        if address not in found:
            found.append(address)
    return found


def _url_endpoint(url: str) -> Endpoint:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{url!r} has an invalid port") from None
    if not parts.hostname:
        raise InvalidInput(f"{url!r} names no host")
    default = 80 if parts.scheme == "http" else 443
    return Endpoint(parts.hostname, port or default)


def endpoint_of(
    provider: str, config: Mapping[str, str], secret: Mapping[str, str]
) -> Endpoint | None:
    """Where a backend of ``provider`` connects (None: fs and inline, no network)."""
    if provider == "oci":
        host = config.get("repository", "").split("/", 1)[0]
        scheme = "http" if _LOOPBACK.match(host) else "https"
        return _url_endpoint(f"{scheme}://{host}")
    if provider == "s3":
        if config.get("endpoint"):
            return _url_endpoint(config["endpoint"])
        region = config.get("region")
        return Endpoint(f"s3.{region}.amazonaws.com" if region else "s3.amazonaws.com", 443)
    if provider == "azure-blob":
        if config.get("account_url"):
            return _url_endpoint(config["account_url"])
        return _connection_endpoint(secret.get("connection_string", ""))
    return None


def _connection_endpoint(connection_string: str) -> Endpoint | None:
    """The blob endpoint of an Azure storage connection string."""
    fields: dict[str, str] = {}
    for part in connection_string.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    if fields.get("blobendpoint"):
        return _url_endpoint(fields["blobendpoint"])
    if fields.get("usedevelopmentstorage", "").lower() == "true":
        return Endpoint("127.0.0.1", 10000)  # Azurite's documented default
    account = fields.get("accountname")
    if not account:
        return None  # the Azure SDK refuses it when the backend is built
    suffix = fields.get("endpointsuffix", "core.windows.net")
    scheme = fields.get("defaultendpointsprotocol", "https")
    return _url_endpoint(f"{scheme}://{account}.blob.{suffix}")
