"""A small OIDC provider on loopback, for tests of everything that trusts ID tokens.

It serves the discovery document and a JWKS (RS256 keys that :meth:`OidcProvider.rotate`
replaces, as real providers do), mints ID tokens with any claims, audience and lifetime
(:meth:`OidcProvider.mint`), and stands in for GitHub Actions' ID-token endpoint: a job sees
``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``
(:meth:`OidcProvider.github_env`), GETs the URL with ``&audience=...`` and
``Authorization: bearer <request token>``, and receives ``{"value": "<ID token>"}`` carrying
the claims of :attr:`OidcProvider.job_claims`.

Routes are a table (:attr:`OidcProvider.routes`, path → handler) so that more flows can be
added beside these without touching the server. People sign in with the device authorization
grant (RFC 8628): a device POSTs ``/device`` and polls ``/token``; a person approves the user
code at ``/activate`` (POST ``user_code`` and ``login``, or ``deny=1``), as their browser would
after signing in; the ID token then carries the claims of :meth:`OidcProvider.add_person`.
Browsers sign in with the authorization code flow and PKCE (RFC 7636, S256 only): ``/authorize``
consents at once for :attr:`OidcProvider.signed_in` (the person "signed in" at the provider)
and redirects back with a code that ``/token`` redeems once, given the code verifier; the ID
token carries the request's ``nonce``. With :attr:`OidcProvider.client_secret` set, ``/token``
demands it (a confidential client); unset, the client is public.

    with OidcProvider() as idp:
        token = idp.mint(github_claims("acme/shop"), audience="chainproof")
        idp.add_person("ana", "ana@example.com")
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class Reply:
    """What a route answers: status and a JSON body, or a redirect to ``location``."""

    status: int
    body: dict[str, Any]
    location: str | None = None


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
        #: The device flow's client (the ID tokens' audience), people by login, device grants.
        self.client_id = "chainproof-cli"
        self.people: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, _Device] = {}
        #: Who is signed in at the provider: ``/authorize`` consents for them at once.
        self.signed_in: str | None = None
        self.client_secret: str | None = None
        self.codes: dict[str, _Code] = {}
        #: Every ``/authorize`` request's query, for tests of what the client asked.
        self.authorize_requests: list[dict[str, str]] = []
        self.routes: dict[str, Route] = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/github/id-token": self._github_id_token,
            "/device": self._device_authorization,
            "/activate": self._activate,
            "/token": self._token,
            "/authorize": self._authorize,
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
        jti: bool = True,
    ) -> str:
        """An ID token with ``claims`` signed by ``key`` (default: the current key); without a
        ``jti`` claim when ``jti`` is False."""
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
        if not jti:
            del payload["jti"]
        return jwt.encode(payload, signer.key, algorithm="RS256", headers={"kid": signer.kid})

    def add_person(self, login: str, email: str, *, verified: bool = True) -> dict[str, Any]:
        """A person who can sign in at ``/activate`` as ``login``; their ID-token claims."""
        claims = {"sub": f"user-{login}", "email": email, "email_verified": verified, "name": login}
        self.people[login] = claims
        return claims

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
                "device_authorization_endpoint": f"{self.issuer}/device",
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "grant_types_supported": [DEVICE_GRANT, "authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token"],
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

    # -- device authorization grant (RFC 8628) ---------------------------------------------
    def _device_authorization(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply(405, {"error": "invalid_request"})
        if request.form.get("client_id") != self.client_id:
            return Reply(401, {"error": "invalid_client"})
        if "openid" not in request.form.get("scope", "").split():
            return Reply(400, {"error": "invalid_scope"})
        device = _Device(secrets.token_urlsafe(24), _user_code())
        self.devices[device.device_code] = device
        uri = f"{self.issuer}/activate"
        return Reply(
            200,
            {
                "device_code": device.device_code,
                "user_code": device.user_code,
                "verification_uri": uri,
                "verification_uri_complete": f"{uri}?user_code={device.user_code}",
                "expires_in": 300,
                "interval": 1,  # RFC 8628 §3.2 default is 5; tests poll faster
            },
        )

    def _activate(self, request: Request) -> Reply:
        """What the person's browser posts after they sign in and confirm the code."""
        code = request.form.get("user_code", "")
        device = next((d for d in self.devices.values() if d.user_code == code), None)
        if request.method != "POST" or device is None:
            return Reply(400, {"error": "unknown user code"})
        if request.form.get("deny"):
            device.denied = True
            return Reply(200, {"denied": True})
        login = request.form.get("login", "")
        if login not in self.people:
            return Reply(401, {"error": "unknown person"})
        device.login = login
        return Reply(200, {"approved": True})

    # -- authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) -----------------------
    def _authorize(self, request: Request) -> Reply:
        """Consent at once for :attr:`signed_in`; back to ``redirect_uri`` with a code."""
        query = request.query
        self.authorize_requests.append(dict(query))
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return Reply(400, {"error": "invalid_request", "error_description": "client"})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return Reply(400, {"error": "invalid_request", "error_description": "PKCE S256"})
        back = query["redirect_uri"]
        state = urlencode({"state": query.get("state", "")})
        if self.signed_in not in self.people or "openid" not in query.get("scope", "").split():
            return Reply(302, {}, location=f"{back}?error=access_denied&{state}")
        code = secrets.token_urlsafe(24)
        self.codes[code] = _Code(self.signed_in, back, query["code_challenge"], query.get("nonce"))
        return Reply(302, {}, location=f"{back}?code={code}&{state}")

    def _redeem(self, form: dict[str, str]) -> Reply:
        if form.get("client_id") != self.client_id or (
            self.client_secret is not None and form.get("client_secret") != self.client_secret
        ):
            return Reply(401, {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # a code is used once
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return Reply(400, {"error": "invalid_grant"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return Reply(400, {"error": "invalid_grant", "error_description": "PKCE verifier"})
        claims = dict(self.people[grant.login])
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = self.mint(claims, audience=self.client_id)
        body = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        return Reply(200, {**body, "expires_in": 300, "id_token": id_token})

    def _token(self, request: Request) -> Reply:
        form = request.form
        if request.method == "POST" and form.get("grant_type") == "authorization_code":
            return self._redeem(form)
        if request.method != "POST" or form.get("grant_type") != DEVICE_GRANT:
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != self.client_id:
            return Reply(401, {"error": "invalid_client"})
        device = self.devices.get(form.get("device_code", ""))
        if device is None:
            return Reply(400, {"error": "invalid_grant"})
        if device.denied:
            del self.devices[device.device_code]
            return Reply(400, {"error": "access_denied"})
        if device.login is None:
            return Reply(400, {"error": "authorization_pending"})
        del self.devices[device.device_code]  # a device code is used once
        id_token = self.mint(self.people[device.login], audience=self.client_id)
        access = secrets.token_urlsafe(16)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 300}
        return Reply(200, {**body, "id_token": id_token})


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class _Code:
    login: str
    redirect_uri: str
    challenge: str
    nonce: str | None


@dataclass
class _Device:
    device_code: str
    user_code: str
    login: str | None = None
    denied: bool = False


def _user_code() -> str:
    """Eight letters without vowels, as RFC 8628 §6.1 suggests, shown as ``BCDF-GHJK``."""
    letters = "BCDFGHJKLMNPQRSTVWXZ"
    code = "".join(secrets.choice(letters) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


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
        if reply.location:
            self.send_header("Location", reply.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what they need from the provider's attributes."""
