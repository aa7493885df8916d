"""A small OIDC provider on loopback, for tests of everything that trusts ID tokens.

It serves the discovery document and a JWKS (RS256 keys that :meth:`OidcProvider.rotate`
replaces, as real providers do), mints ID tokens with any claims, audience and lifetime
(:meth:`OidcProvider.mint`), and stands in for GitHub Actions' ID-token endpoint: a job sees
``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``
(:meth:`OidcProvider.github_env`), GETs the URL with ``&audience=...`` and
``Authorization: bearer <request token>``, and receives ``{"value": "<ID token>"}`` carrying
the claims of :attr:`OidcProvider.job_claims`.

Routes are a table (:attr:`OidcProvider.routes`, path → handler) so that more flows (device
authorisation, authorization code) can be added beside these without touching the server.

    with OidcProvider() as idp:
        token = idp.mint(github_claims("acme/shop"), audience="chainproof")
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class Reply:
    """What a route answers: status and a JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Request:
    """What a route sees: method, path, query and form fields (first values), headers
    (lower-case names). POST bodies are read as ``application/x-www-form-urlencoded``, as
    OAuth's token and device-authorisation endpoints receive them."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Reply]


@dataclass
class SigningKey:
    kid: str
    key: rsa.RSAPrivateKey = field(repr=False)

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


def new_key() -> SigningKey:
    return SigningKey(f"k-{secrets.token_hex(4)}", rsa.generate_private_key(65537, 2048))


def _number(name: str) -> str:
    """A stable numeric id for a name (GitHub's repository_id and owner id are numbers)."""
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))


def github_claims(
    repository: str,
    *,
    workflow: str = ".github/workflows/release.yml",
    ref: str = "refs/tags/v1.0.0",
    sha: str = "0" * 40,
    event_name: str = "push",
) -> dict[str, Any]:
    """The claims GitHub Actions puts in a job's ID token (the ones rules and runs use)."""
    owner = repository.split("/", 1)[0]
    workflow_ref = f"{repository}/{workflow}@{ref}"
    return {
        "sub": f"repo:{repository}:ref:{ref}",
        "repository": repository,
        "repository_id": _number(repository),
        "repository_owner": owner,
        "repository_owner_id": _number(owner),
        "workflow_ref": workflow_ref,
        "job_workflow_ref": workflow_ref,
        "workflow_sha": sha,
        "ref": ref,
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "sha": sha,
        "event_name": event_name,
        "run_id": "1234567890",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        "actor": "octocat",
    }


def gitlab_claims(project_path: str, *, ref: str = "main") -> dict[str, Any]:
    """The claims GitLab CI puts in a job's ``id_tokens`` (the ones rules and runs use)."""
    namespace = project_path.rsplit("/", 1)[0]
    return {
        "sub": f"project_path:{project_path}:ref_type:branch:ref:{ref}",
        "project_path": project_path,
        "project_id": _number(project_path),
        "namespace_path": namespace,
        "namespace_id": _number(namespace),
        "ref": ref,
        "ref_type": "branch",
        "ref_protected": "true",
        "pipeline_source": "push",
        "pipeline_id": "4242",
        "job_id": "777",
        "sha": "1" * 40,
        "runner_environment": "gitlab-hosted",
        "user_login": "miles",
    }


class OidcProvider:
    """The provider; a context manager that serves on ``127.0.0.1`` until it exits."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = [new_key()]
        self.request_token = secrets.token_urlsafe(16)
        #: Claims of the ID tokens the GitHub stand-in hands out.
        self.job_claims: dict[str, Any] = github_claims("cyberdyne/skynet")
        self.jwks_fetches = 0
        self.routes: dict[str, Route] = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/github/id-token": self._github_id_token,
        }
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- keys and tokens -----------------------------------------------------------------
    def rotate(self, *, keep_old: bool = False) -> SigningKey:
        """A new current signing key; the old ones stay published only with ``keep_old``."""
        key = new_key()
        self.keys = [key, *self.keys] if keep_old else [key]
        return key

    def mint(
        self,
        claims: dict[str, Any],
        *,
        audience: str | list[str] = "chainproof",
        expires_in: int = 300,
        key: SigningKey | None = None,
        issuer: str | None = None,
    ) -> str:
        """An ID token with ``claims`` signed by ``key`` (default: the current key)."""
        signer = key or self.keys[0]
        now = int(time.time())
        payload = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": secrets.token_hex(8),
            **claims,
        }
        return jwt.encode(payload, signer.key, algorithm="RS256", headers={"kid": signer.kid})

    def github_env(self) -> dict[str, str]:
        """What GitHub Actions sets in a job with ``permissions: id-token: write``."""
        return {
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.issuer}/github/id-token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    # -- routes --------------------------------------------------------------------------
    def _discovery(self, request: Request) -> Reply:
        return Reply(
            200,
            {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
            },
        )

    def _jwks(self, request: Request) -> Reply:
        self.jwks_fetches += 1
        return Reply(200, {"keys": [key.public_jwk() for key in self.keys]})

    def _github_id_token(self, request: Request) -> Reply:
        if request.method != "GET":
            return Reply(405, {"message": "GET only"})
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or secret != self.request_token:
            return Reply(401, {"message": "bad ACTIONS_ID_TOKEN_REQUEST_TOKEN"})
        audience = request.query.get("audience")
        if not audience:  # GitHub's default audience is the repository owner's URL
            owner = self.job_claims.get("repository_owner", "")
            audience = f"https://github.com/{owner}"
        return Reply(200, {"value": self.mint(self.job_claims, audience=audience)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: OidcProvider) -> None:
        self.provider = provider
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._dispatch("GET", {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self._dispatch("POST", {k: v[0] for k, v in parse_qs(body).items()})

    def _dispatch(self, method: str, form: dict[str, str]) -> None:
        parts = urlsplit(self.path)
        route = self.server.provider.routes.get(parts.path)
        if route is None:
            self._send(Reply(404, {"error": "not_found"}))
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(route(Request(method, parts.path, query, headers, form)))

    def _send(self, reply: Reply) -> None:
        body = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what they need from the provider's attributes."""
