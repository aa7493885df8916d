"""Talk to an OCI registry over the distribution API (distribution-spec v1.1, spec.md).

Only what chainproof needs: resolve a tag to its manifest digest (``HEAD /v2/<name>/manifests/
<ref>``), with anonymous, basic or bearer-token auth (the Docker token flow: a 401 carrying
``WWW-Authenticate: Bearer realm=..,service=..,scope=..`` is answered by fetching a token).
Written by hand: the Python OCI clients (oras-py) pull in much more than this and are slower
for blobs (docs/contributing.md §11). Plain HTTP is used only for loopback registries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chainproof.core.chainloop_env import lookup
from chainproof.core.digest import Digest
from chainproof.errors import ChainproofError, NetworkError, NotFound, Unauthorized

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
DOCKER_HUB = "registry-1.docker.io"
_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    """A username and password (or identity token) for one registry host."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class ManifestInfo:
    """What the registry says about a manifest."""

    digest: Digest
    media_type: str
    size: int


def split_repository(repository: str) -> tuple[str, str]:
    """``host[:port]`` and the path of a repository, Docker Hub's defaults applied."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    path = repository if "/" in repository else f"library/{repository}"
    return DOCKER_HUB, path


_REGISTRY_ENV = (
    "CHAINPROOF_REGISTRY_USERNAME",
    "CHAINPROOF_REGISTRY_PASSWORD",
    "CHAINPROOF_REGISTRY_SERVER",
)


def credentials_for(host: str, environ: Mapping[str, str]) -> Credentials | None:
    """Credentials for ``host``: ``CHAINPROOF_REGISTRY_USERNAME``/``_PASSWORD`` (with optional
    ``CHAINPROOF_REGISTRY_SERVER`` naming the host they are for), else the Docker config
    (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``, ``auths`` entries)."""
    found = lookup(environ, _REGISTRY_ENV)  # or Chainloop's CHAINLOOP_REGISTRY_* set
    user, password, server = (found[n] for n in _REGISTRY_ENV)
    if user and password and (not server or server == host):
        return Credentials(user, password)
    config_dir = environ.get("DOCKER_CONFIG") or str(Path(environ.get("HOME", "~")) / ".docker")
    try:
        config = json.loads((Path(config_dir).expanduser() / "config.json").read_text())
    except (OSError, ValueError):
        return None
    for key, entry in (config.get("auths") or {}).items():
        if _host_of(key) == host and isinstance(entry, dict) and entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return Credentials(user, password)
    return None


def _host_of(key: str) -> str:
    key = re.sub(r"^https?://", "", key).split("/", 1)[0]
    return DOCKER_HUB if key in ("index.docker.io", "docker.io") else key


class RegistryClient:
    """One registry host. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        scheme = "http" if _LOOPBACK.match(host) else "https"
        self.host = host
        self._credentials = credentials
        self._tokens: dict[str, str] = {}
        self._http = httpx.Client(
            base_url=f"{scheme}://{host}", timeout=timeout, transport=transport
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release connections."""
        self._http.close()

    def resolve(self, path: str, reference: str) -> ManifestInfo:
        """The manifest that ``reference`` (tag or digest) names in repository ``path``.

        Raises NotFound when there is none, Unauthorized when the registry refuses us, and
        NetworkError when it cannot be reached.
        """
        url = f"/v2/{path}/manifests/{reference}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        response = self._request("HEAD", url, path, headers)
        header_digest = response.headers.get("Docker-Content-Digest")
        if response.status_code == 200 and header_digest:
            digest = Digest.parse(header_digest)
            size = int(response.headers.get("Content-Length") or 0)
            media_type = response.headers.get("Content-Type", "").split(";")[0]
            return ManifestInfo(digest, media_type, size)
        # Some registries omit the digest header on HEAD: hash the manifest ourselves.
        response = self._request("GET", url, path, headers)
        return ManifestInfo(
            Digest("sha256", hashlib.sha256(response.content).hexdigest()),
            response.headers.get("Content-Type", "").split(";")[0],
            len(response.content),
        )

    def find(self, path: str, reference: str) -> ManifestInfo | None:
        """Like :meth:`resolve`, but None when the manifest does not exist."""
        try:
            return self.resolve(path, reference)
        except NotFound:
            return None

    def referrers(self, path: str, digest: Digest) -> list[dict[str, Any]]:
        """Descriptors of the manifests whose ``subject`` is ``digest`` (signatures, SBOMs...).

        Asks the referrers API (distribution-spec v1.1, ``GET /v2/<name>/referrers/<digest>``)
        and, where the registry does not have it (404, as distribution 2.x), reads the
        referrers tag schema the spec defines as the fallback: an image index tagged
        ``<alg>-<hex>``. An empty list when there are none.
        """
        headers = {"Accept": OCI_INDEX}
        urls = (
            f"/v2/{path}/referrers/{digest}",
            f"/v2/{path}/manifests/{digest.algorithm}-{digest.hex}",
        )
        for url in urls:
            try:
                index = self._request("GET", url, path, headers).json()
            except NotFound:
                continue
            except ValueError:  # not JSON: no usable index
                return []
            manifests = index.get("manifests") if isinstance(index, dict) else None
            return [m for m in manifests or [] if isinstance(m, dict)]
        return []

    def _request(self, method: str, url: str, path: str, headers: dict[str, str]) -> httpx.Response:
        with self._errors(url):
            response = self._http.request(method, url, headers=self._auth(path, headers))
            if response.status_code == 401:
                self._authenticate(response, path)
                response = self._http.request(method, url, headers=self._auth(path, headers))
        if response.status_code == 404:
            raise NotFound(f"{self.host}/{path}: {url.rsplit('/', 1)[-1]} not found")
        if response.status_code in (401, 403):
            raise Unauthorized(
                f"registry {self.host} refused access to {path} ({response.status_code})",
                hint="set CHAINPROOF_REGISTRY_USERNAME/PASSWORD or `docker login` first",
            )
        if response.status_code >= 400:
            raise NetworkError(f"registry {self.host} answered {response.status_code} for {url}")
        return response

    def _auth(self, path: str, headers: dict[str, str]) -> dict[str, str]:
        token = self._tokens.get(path)
        if token:
            return {**headers, "Authorization": f"Bearer {token}"}
        if self._credentials and "basic" in self._tokens:
            return {**headers, "Authorization": self._basic()}
        return headers

    def _basic(self) -> str:
        assert self._credentials is not None
        raw = f"{self._credentials.username}:{self._credentials.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _authenticate(self, response: httpx.Response, path: str) -> None:
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic" and self._credentials:
            self._tokens["basic"] = "1"
            return
        if scheme != "bearer":
            return
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.get("realm")
        if not realm:
            return
        query = {k: v for k, v in params.items() if k in ("service", "scope")}
        query.setdefault("scope", f"repository:{path}:pull")
        headers = {"Authorization": self._basic()} if self._credentials else {}
        with self._errors(realm):
            answer = self._http.get(realm, params=query, headers=headers)
        if answer.status_code != 200:
            return
        body: dict[str, Any] = answer.json()
        token = body.get("token") or body.get("access_token")
        if isinstance(token, str):
            self._tokens[path] = token

    @contextmanager
    def _errors(self, url: str) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as err:
            raise NetworkError(
                f"cannot reach registry {self.host} ({type(err).__name__}) for {url}"
            ) from None
        except ChainproofError:
            raise
