"""HTTP for the CLI: retries, error mapping and one typed method per endpoint of docs/api.md.

This is the only module of chainproof that imports httpx on the client side; the CLI imports it
lazily, inside commands, so that ``chainproof --help`` never pays for it (~100 ms:
docs/contributing.md §11).

Every httpx exception is translated once, in :func:`_map_httpx_errors` (the way httpx itself
wraps httpcore in ``map_httpcore_exceptions``), into :class:`~chainproof.errors.NetworkError`.
RFC 9457 problem documents become the matching :class:`~chainproof.errors.ChainproofError`
subclass; any other non-2xx answer becomes a :class:`~chainproof.errors.ServiceError`.
The bearer token never appears in a message or a repr.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from chainproof.client._ci_identity_calls import CiIdentityCalls
from chainproof.client._day_two import DayTwoCalls
from chainproof.client._integration_calls import IntegrationCalls
from chainproof.client._lifecycle import LifecycleCalls
from chainproof.client._people_calls import PeopleCalls
from chainproof.client._retry import DEFAULT_RETRY_TIMEOUT, Attempts, RetryPolicy, retry_after
from chainproof.client._transport import client_transports
from chainproof.errors import ChainproofError, InvalidInput, NetworkError, ServiceError

__all__ = ["ApiClient", "HttpSession", "Reply", "server_root"]

#: The organisation a person's session acts in (server: services/signin.py).
ORG_HEADER = "X-Chainproof-Org"
_RETRY_STATUSES = frozenset({502, 503, 504})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

Content = bytes | Callable[[], Iterable[bytes]]
"""A request body: bytes, or a factory of chunk iterators (called again on each retry)."""


@dataclass(frozen=True)
class Reply:
    """A finished HTTP answer, detached from httpx."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON; ServiceError if it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ServiceError(
                f"the server answered HTTP {self.status} with a body that is not JSON",
                hint="check that --url / CHAINPROOF_URL points at a chainproof server",
            ) from exc


@contextmanager
def _map_httpx_errors(url: str, secret: str | None) -> Iterator[None]:
    """Re-raise any httpx exception as NetworkError, once, without the token in it."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise NetworkError(
            f"timed out talking to {_redact(url, secret)}",
            hint="the server may be overloaded; retry later or raise the timeout",
        ) from exc
    except httpx.HTTPError as exc:
        reason = _redact(str(exc) or type(exc).__name__, secret)
        if _tls_refused(exc):  # not transient: retrying cannot help
            raise NetworkError(
                f"cannot reach {_redact(url, secret)}: its TLS certificate was refused: {reason}",
                hint="trust the server's CA with SSL_CERT_FILE=ca.pem, or fix its certificate",
                permanent=True,
            ) from exc
        raise NetworkError(
            f"cannot reach {_redact(url, secret)}: {reason}",
            hint="check --url / CHAINPROOF_URL and that the server is running",
        ) from exc


def _tls_refused(exc: BaseException) -> bool:
    """Whether ``exc`` was caused by a TLS certificate verification failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _error_from(reply: Reply, method: str, url: str, secret: str | None) -> ChainproofError:
    """Turn a non-2xx reply into the most specific chainproof error."""
    ctype = reply.headers.get("content-type", "")
    if "json" in ctype:
        try:
            doc = json.loads(reply.body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("code"):
            err = ChainproofError.from_problem(doc)
            err.message = _redact(err.message, secret)
            err.args = (err.message,)
            return err
    return ServiceError(
        f"{method} {_redact(url, secret)} failed with HTTP {reply.status}",
        hint="check that --url / CHAINPROOF_URL points at a chainproof server",
    )


class HttpSession:
    """One httpx client with retries, backoff and error mapping; shared by the API and CAS.

    Retries (:mod:`._retry`: exponential backoff with full jitter, at least the server's
    ``Retry-After``, within ``retry_timeout`` seconds per request) happen on connect errors,
    timeouts and HTTP 502/503/504, but only for idempotent methods, or for a POST that
    carries an ``Idempotency-Key`` (docs/architecture.md §7), so a retried push cannot
    record twice.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        retries: int | None = None,
        backoff: float = 0.5,
        retry_timeout: float = DEFAULT_RETRY_TIMEOUT,
        on_retry: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.retry = RetryPolicy(
            retries=None if retries is None else max(0, retries),
            backoff=backoff,
            timeout=max(0.0, retry_timeout),
            sleep=sleep,
            on_retry=on_retry,
        )
        #: How many attempts the last request made (messages say how often a server was tried).
        self.tries = 0
        headers = {"User-Agent": _user_agent(), "Accept": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            **client_transports(self.base_url, transport),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, token=***)"

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # -- core ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        content: Content | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        accept: Iterable[int] = (),
    ) -> Reply:
        """Send a request and return the reply; raise a ChainproofError for non-2xx answers.

        ``accept`` lists extra statuses returned as replies instead of raised (e.g. 404 for a
        CAS HEAD). Raises NetworkError when the server cannot be reached after the retries.
        """
        method = method.upper()
        hdrs = dict(headers or {})
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        retryable = method in _IDEMPOTENT_METHODS or bool(idempotency_key)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}{path}"
        attempts = self.retry.start()
        while True:
            self.tries = attempts.count + 1
            try:
                with _map_httpx_errors(url, self._token):
                    body = content() if callable(content) else content
                    resp = self._client.request(
                        method, path, json=json_body, params=clean, content=body, headers=hdrs
                    )
                    reply = Reply(resp.status_code, dict(resp.headers), resp.read())
            except NetworkError as err:
                if err.details.get("permanent") or not retryable:
                    raise
                if not attempts.wait(f"{method} {path}: {err.message}"):
                    raise
            else:
                if not (retryable and _wait_for_retry(attempts, method, path, reply)):
                    if 200 <= reply.status < 300 or reply.status in accept:
                        return reply
                    raise _error_from(reply, method, url, self._token)

    def download(
        self,
        path: str,
        *,
        on_start: Callable[[int | None], None],
        on_chunk: Callable[[bytes], None],
    ) -> None:
        """GET ``path`` streaming the body to ``on_chunk``; retried from scratch on failure.

        ``on_start(total_or_None)`` is called before each attempt's first chunk, so the
        caller can reset its sink.
        """
        url = f"{self.base_url}{path}"
        attempts = self.retry.start()
        while True:
            self.tries = attempts.count + 1
            try:
                with _map_httpx_errors(url, self._token):
                    with self._client.stream("GET", path) as resp:
                        reply = Reply(resp.status_code, dict(resp.headers))
                        if resp.status_code in _RETRY_STATUSES:
                            reply = Reply(resp.status_code, reply.headers, resp.read())
                            if _wait_for_retry(attempts, "GET", path, reply):
                                raise _Retry
                        if not 200 <= resp.status_code < 300:
                            reply = Reply(resp.status_code, reply.headers, resp.read())
                            raise _error_from(reply, "GET", url, self._token)
                        length = resp.headers.get("content-length")
                        on_start(int(length) if length and length.isdigit() else None)
                        for chunk in resp.iter_bytes(1024 * 1024):
                            on_chunk(chunk)
                        return
            except _Retry:
                continue
            except NetworkError as err:
                if err.details.get("permanent") or not attempts.wait(f"GET {path}: {err.message}"):
                    raise


def _wait_for_retry(attempts: Attempts, method: str, path: str, reply: Reply) -> bool:
    """For a retryable status, wait for the next attempt (True); False to give up."""
    if reply.status not in _RETRY_STATUSES:
        return False
    why = f"{method} {path}: HTTP {reply.status}"
    try:
        detail = json.loads(reply.body).get("detail") if reply.body else None
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        why += f" ({detail})"
    return attempts.wait(why, retry_after(reply.headers.get("retry-after")))


class _Retry(Exception):
    """Internal: the streamed answer was a retryable status."""


def _user_agent() -> str:
    from chainproof import __version__

    return f"chainproof-cli/{__version__}"


_API_PATHS = frozenset({"", "/api", "/api/v1"})
_URL_HINT = (
    "give the server root, such as http://127.0.0.1:8000 or https://cp.example "
    "(--url or CHAINPROOF_URL); the client adds /api/v1 itself"
)


def server_root(url: str) -> str:
    """The control plane's root URL (``scheme://host[:port]``) from what a user typed.

    A trailing ``/``, ``/api`` or ``/api/v1`` is dropped: users paste the API's address, and
    the client appends ``/api/v1/...`` itself. InvalidInput (exit 2) for no scheme, a scheme
    other than http or https, no host, any other path, a query or a fragment.
    """
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    shown = _without_userinfo(text)
    if "://" not in text:
        raise InvalidInput(f"control plane URL {shown!r} has no scheme", hint=_URL_HINT)
    if scheme not in ("http", "https"):
        raise InvalidInput(
            f"control plane URL {shown!r} has scheme {parts.scheme!r}: use http or https",
            hint=_URL_HINT,
        )
    if not parts.hostname:
        raise InvalidInput(f"control plane URL {shown!r} has no host", hint=_URL_HINT)
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise InvalidInput(f"control plane URL {shown!r} has a bad port", hint=_URL_HINT) from None
    if parts.query or parts.fragment:
        raise InvalidInput(f"control plane URL {shown!r} has a query or fragment", hint=_URL_HINT)
    path = parts.path.rstrip("/")
    if path not in _API_PATHS:
        raise InvalidInput(
            f"control plane URL {shown!r} has path {path!r}: only the server root, /api or "
            "/api/v1 can be used",
            hint=_URL_HINT,
        )
    return f"{scheme}://{parts.netloc}"


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def _q(segment: str) -> str:
    return quote(segment, safe="")


class ApiClient(LifecycleCalls, DayTwoCalls, CiIdentityCalls, PeopleCalls, IntegrationCalls):
    """Typed client of the control plane API (docs/api.md); answers are plain JSON dicts.

    Build it with the server URL (normalised by :func:`server_root`) and an API token; pass
    ``transport`` (e.g. ``httpx.MockTransport``) in tests. Every method raises a
    :class:`ChainproofError` subclass: NotFound/Unauthorized/Forbidden (exit 3), InvalidInput
    (2), a CheckFailed (1), Conflict (5), ServiceError/NetworkError (4).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        retries: int | None = None,
        backoff: float = 0.5,
        retry_timeout: float = DEFAULT_RETRY_TIMEOUT,
        on_retry: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        org: str | None = None,
    ) -> None:
        self.base_url = server_root(base_url)
        self.timeout = timeout
        self.transport = transport
        self._session = HttpSession(
            self.base_url,
            token,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            retry_timeout=retry_timeout,
            on_retry=on_retry,
            transport=transport,
            sleep=sleep,
            # A person's session names the organisation it acts in; API tokens ignore it.
            headers={ORG_HEADER: org} if org else None,
        )

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r}, token=***)"

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def session_for(self, base_url: str, token: str | None) -> HttpSession:
        """A session to another service (the CAS) with this client's transport and retries."""
        retry = self._session.retry
        return HttpSession(
            base_url,
            token,
            timeout=self.timeout,
            retries=retry.retries,
            backoff=retry.backoff,
            retry_timeout=retry.timeout,
            on_retry=retry.on_retry,
            transport=self.transport,
            sleep=retry.sleep,
        )

    def _get(self, path: str, **params: Any) -> Any:
        return self._session.request("GET", f"/api/v1{path}", params=params).json()

    def _post(self, path: str, body: dict[str, Any], **kw: Any) -> Any:
        clean = {k: v for k, v in body.items() if v is not None}
        return self._session.request("POST", f"/api/v1{path}", json_body=clean, **kw).json()

    def _items(self, path: str, limit: int | None = None, **params: Any) -> list[dict[str, Any]]:
        """Follow ``next_cursor`` until ``limit`` items (or all) are collected."""
        return self._pages(path, limit, None, **params)[0]

    def _pages(
        self, path: str, limit: int | None, cursor: str | None, **params: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` items (None: all) from ``cursor`` on, and the cursor that
        continues right after them (None when there is nothing more)."""
        items: list[dict[str, Any]] = []
        while True:
            page_size = min(100, limit - len(items)) if limit else 100
            page = self._get(path, limit=page_size, cursor=cursor, **params)
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor or (limit is not None and len(items) >= limit):
                return items, cursor

    # -- identity --------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        """The organisation and token the credentials belong to."""
        return dict(self._get("/whoami"))

    # -- organisation ----------------------------------------------------------------------
    def get_org(self) -> dict[str, Any]:
        """The organisation and its settings."""
        return dict(self._get("/org"))

    def update_org(
        self,
        *,
        allow_implicit_creation: bool | None = None,
        policy_strategy: str | None = None,
        required_policies: dict[str, Any] | None = None,
        clear_required_policies: bool = False,
        contract_grace_seconds: int | None = None,
        default_contract: str | None = None,
        clear_default_contract: bool = False,
        refuse_released_versions: bool | None = None,
        revoke_unused_tokens_seconds: int | None = None,
        policy_allowed_hostnames: list[str] | None = None,
    ) -> dict[str, Any]:
        """Change organisation settings (owner/admin); ``clear_required_policies`` removes
        the required policies, ``clear_default_contract`` the default contract,
        ``contract_grace_seconds=0`` the contract grace period,
        ``revoke_unused_tokens_seconds=0`` the revocation of unused tokens and
        ``policy_allowed_hostnames=[]`` every host policies' http.send may reach."""
        body: dict[str, Any] = {
            "allow_implicit_creation": allow_implicit_creation,
            "policy_strategy": policy_strategy,
            "required_policies": required_policies,
            "contract_grace_seconds": contract_grace_seconds,
            "default_contract": default_contract,
            "refuse_released_versions": refuse_released_versions,
            "revoke_unused_tokens_seconds": revoke_unused_tokens_seconds,
            "policy_allowed_hostnames": policy_allowed_hostnames,
        }
        clean = {k: v for k, v in body.items() if v is not None}
        if clear_required_policies:
            clean["required_policies"] = None
        if clear_default_contract:
            clean["default_contract"] = None
        return dict(self._session.request("PATCH", "/api/v1/org", json_body=clean).json())

    # -- remote crafting state -------------------------------------------------------------
    def get_run_state(self, run_id: str) -> dict[str, Any]:
        """``{"state", "digest"}`` of a run started with ``--remote-state``."""
        return dict(self._get(f"/runs/{run_id}/state"))

    def put_run_state(
        self, run_id: str, state: dict[str, Any], base_digest: str | None
    ) -> dict[str, Any]:
        """Compare-and-set the run's state; Conflict (details.stale) if it moved on."""
        body = {"state": state, "base_digest": base_digest}
        return dict(
            self._session.request("PUT", f"/api/v1/runs/{run_id}/state", json_body=body).json()
        )

    # -- signing CAs and keys --------------------------------------------------------------
    def list_signing_cas(self) -> list[dict[str, Any]]:
        """``GET /signing/ca``: the organisation's CAs, newest (issuing) first."""
        return list(self._get("/signing/ca"))

    def rotate_signing_ca(self) -> dict[str, Any]:
        """``POST /signing/ca/rotate``: a new issuing CA (owner or admin)."""
        return dict(self._post("/signing/ca/rotate", {}))

    def register_signing_key(self, name: str, public_key_pem: str) -> dict[str, Any]:
        """Accept bundles signed by this key (``push --key``); owner/admin."""
        return dict(self._post("/signing/keys", {"name": name, "public_key": public_key_pem}))

    def list_signing_keys(self) -> list[dict[str, Any]]:
        """The public keys the organisation accepts."""
        return list(self._get("/signing/keys"))

    # -- projects --------------------------------------------------------------------------
    def create_project(self, name: str) -> dict[str, Any]:
        """Create a project; Conflict if it exists."""
        return dict(self._post("/projects", {"name": name}))

    def list_projects(self, *, blocked: bool = False) -> list[dict[str, Any]]:
        """Every project of the organisation (only the blocked ones with ``blocked``)."""
        return self._items("/projects", blocked="true" if blocked else None)

    # -- contracts -------------------------------------------------------------------------
    def create_contract(
        self, name: str, raw: str, description: str | None = None
    ) -> dict[str, Any]:
        """Create a contract from YAML/JSON text; ContractError (422) with line and field."""
        return dict(
            self._post("/contracts", {"name": name, "raw": raw, "description": description})
        )

    def update_contract(self, name: str, raw: str) -> dict[str, Any]:
        """Add a revision (or return the latest unchanged when the spec is the same)."""
        reply = self._session.request(
            "PUT", f"/api/v1/contracts/{_q(name)}", json_body={"raw": raw}
        )
        return dict(reply.json())

    def list_contracts(self) -> list[dict[str, Any]]:
        """Latest revision of every contract."""
        return self._items("/contracts")

    def get_contract(self, name: str, revision: int | None = None) -> dict[str, Any]:
        """A contract at ``revision`` (default: latest)."""
        return dict(self._get(f"/contracts/{_q(name)}", revision=revision))

    def diff_contract(
        self, name: str, from_revision: int | None = None, to_revision: int | None = None
    ) -> dict[str, Any]:
        """What revision ``to`` (default latest) changed since ``from`` (default to-1)."""
        params = {"from": from_revision, "to": to_revision}
        return dict(self._get(f"/contracts/{_q(name)}/diff", **params))

    def contract_rollout(self, name: str) -> dict[str, Any]:
        """Per workflow on the contract: last compliant revision, lagging since when."""
        return dict(self._get(f"/contracts/{_q(name)}/rollout"))

    # -- stored policies -------------------------------------------------------------------
    def create_policy(self, document: str) -> dict[str, Any]:
        """Store a Policy or PolicyGroup document (named by its metadata.name); PolicyError
        (422) with line and field, Conflict when the name is taken or built in."""
        return dict(self._post("/policies", {"document": document}))

    def update_policy(self, name: str, document: str) -> dict[str, Any]:
        """Add a revision (or return the latest unchanged when the digest is the same)."""
        reply = self._session.request(
            "PUT", f"/api/v1/policies/{_q(name)}", json_body={"document": document}
        )
        return dict(reply.json())

    def list_policies(self, *, builtin: bool = False) -> list[dict[str, Any]]:
        """The organisation's stored policies (and the built-in ones with ``builtin``)."""
        return self._items("/policies", builtin="true" if builtin else None)

    def get_policy(
        self, name: str, revision: int | None = None, digest: str | None = None
    ) -> dict[str, Any]:
        """A stored policy at ``revision`` or ``digest`` (``sha256:<hex>``; default latest),
        or a built-in one (``source: builtin``); NotFound otherwise."""
        return dict(self._get(f"/policies/{_q(name)}", revision=revision, digest=digest))

    # -- workflows -------------------------------------------------------------------------
    def create_workflow(
        self,
        name: str,
        project: str,
        *,
        team: str | None = None,
        description: str | None = None,
        contract: str | None = None,
    ) -> dict[str, Any]:
        """Create a workflow in an existing project."""
        body = {
            "name": name,
            "project": project,
            "team": team,
            "description": description,
            "contract": contract,
        }
        return dict(self._post("/workflows", body))

    def list_workflows(
        self, project: str | None = None, *, blocked: bool = False, archived: str = "hide"
    ) -> list[dict[str, Any]]:
        """Workflows, optionally of one project; only the blocked ones with ``blocked``;
        ``archived``: ``hide`` (default), ``only`` or ``all``."""
        flag = "true" if blocked else None
        return self._items("/workflows", project=project, blocked=flag, archived=archived)

    def get_workflow(self, project: str, name: str) -> dict[str, Any]:
        """One workflow by project and name."""
        return dict(self._get(f"/workflows/{_q(project)}/{_q(name)}"))

    # -- tokens ----------------------------------------------------------------------------
    def create_token(
        self,
        name: str,
        *,
        project: str | None = None,
        workflow: str | None = None,
        expires_in_seconds: int | None = None,
        policy_bypass: bool = False,
    ) -> dict[str, Any]:
        """Create a robot token; the answer's ``token`` is the secret, shown only now.
        ``policy_bypass`` lets its pushes through gated policy violations when asked."""
        body: dict[str, Any] = {
            "name": name,
            "project": project,
            "workflow": workflow,
            "expires_in_seconds": expires_in_seconds,
        }
        if policy_bypass:
            body["policy_bypass"] = True
        return dict(self._post("/tokens", body))

    def list_tokens(self) -> list[dict[str, Any]]:
        """API tokens of the organisation (never their secrets)."""
        return self._items("/tokens")

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token; it stops working on the next request."""
        self._session.request("DELETE", f"/api/v1/tokens/{_q(token_id)}")

    # -- runs ------------------------------------------------------------------------------
    def init_run(
        self,
        *,
        workflow: str,
        project: str,
        runner: dict[str, Any],
        project_version: str | None = None,
        contract: str | None = None,
        contract_revision: int | None = None,
    ) -> dict[str, Any]:
        """Start a run: ``{"run", "workflow", "org", "contract"}`` (POST /runs)."""
        body = {
            "workflow": workflow,
            "project": project,
            "project_version": project_version,
            "contract": contract,
            "contract_revision": contract_revision,
            "runner": runner,
        }
        return dict(self._post("/runs", body))

    def list_runs(
        self,
        *,
        workflow: str | None = None,
        project: str | None = None,
        status: str | None = None,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Runs, newest first, following pages up to ``limit`` (None: all)."""
        page = self.list_runs_page(workflow=workflow, project=project, status=status, limit=limit)
        return page[0]

    def list_runs_page(
        self,
        *,
        workflow: str | None = None,
        project: str | None = None,
        status: str | None = None,
        limit: int | None = 50,
        cursor: str | None = None,
        **filters: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` runs, newest first, from ``cursor`` (a previous answer's) on, and
        the cursor of the next page (None on the last one). ``filters``: ``version``,
        ``runner`` (type), ``policy`` (passed, violated, none), ``since`` and ``until``
        (RFC 3339), as GET /runs takes them."""
        named = {"workflow": workflow, "project": project, "status": status}
        return self._pages("/runs", limit, cursor, **named, **filters)

    def get_overview(
        self, project: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """The organisation at a glance: totals, and a page of workflows grouped by project
        with owner, contract, last run, compliance and standing (GET /overview);
        ``next_cursor`` continues the page."""
        return dict(self._get("/overview", project=project, limit=limit, cursor=cursor))

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run with its materials."""
        return dict(self._get(f"/runs/{_q(run_id)}"))

    def get_run_policy_evaluations(self, run_id: str) -> list[dict[str, Any]]:
        """The control plane's policy evaluations of a pushed run, in order."""
        return list(self._get(f"/runs/{_q(run_id)}/policy-evaluations")["items"])

    def get_run_bundle(self, run_id: str) -> dict[str, Any]:
        """The stored Sigstore bundle of a run."""
        return dict(self._get(f"/runs/{_q(run_id)}/bundle"))

    def get_run_statement(self, run_id: str) -> dict[str, Any]:
        """The in-toto Statement of a run (decoded DSSE payload)."""
        return dict(self._get(f"/runs/{_q(run_id)}/statement"))

    def get_run_vsa(self, run_id: str) -> dict[str, Any]:
        """The signed SLSA verification summary (a Sigstore bundle) of a verified run."""
        return dict(self._get(f"/runs/{_q(run_id)}/vsa"))

    def get_run_provenance(self, run_id: str) -> dict[str, Any]:
        """The signed SLSA Provenance v1 (a Sigstore bundle) of a succeeded run."""
        return dict(self._get(f"/runs/{_q(run_id)}/provenance"))

    def reset_run(self, run_id: str, trigger: str, reason: str | None = None) -> dict[str, Any]:
        """Mark a run failed or cancelled; Conflict if it already finished."""
        body = {"trigger": trigger, "reason": reason}
        return dict(self._post(f"/runs/{_q(run_id)}/reset", body))

    def push_attestation(
        self,
        run_id: str,
        *,
        bundle: dict[str, Any],
        materials: list[dict[str, Any]],
        public_key: str | None = None,
        idempotency_key: str | None = None,
        bypass_policy_check: bool = False,
        release: bool = False,
    ) -> dict[str, Any]:
        """Send the signed bundle; the server verifies and evaluates its policies before it
        stores. Returns the Run with ``policy_evaluations``; PolicyViolation when a gate
        blocked it (the run is recorded as blocked). ``release`` releases the run's project
        version once the push succeeded (the answer's ``project_version_release``)."""
        body: dict[str, Any] = {"bundle": bundle, "materials": materials, "public_key": public_key}
        if bypass_policy_check:
            body["bypass_policy_check"] = True
        if release:
            body["release"] = True
        return dict(
            self._post(f"/runs/{_q(run_id)}/attestation", body, idempotency_key=idempotency_key)
        )

    # -- CAS backends (owner/admin) --------------------------------------------------------
    def create_cas_backend(
        self,
        name: str,
        provider: str,
        *,
        config: dict[str, str],
        secret: dict[str, str],
        default: bool = False,
        fallback: bool = False,
        max_blob_size: int | None = None,
        skip_validation: bool = False,
    ) -> dict[str, Any]:
        """Add a backend, validated by the server first unless ``skip_validation``."""
        body = {
            "name": name,
            "provider": provider,
            "config": config,
            "secret": secret,
            "default": default,
            "fallback": fallback,
            "max_blob_size": max_blob_size,
            "skip_validation": skip_validation,
        }
        return dict(self._post("/cas-backends", body))

    def list_cas_backends(self) -> list[dict[str, Any]]:
        """The organisation's backends (never their credentials)."""
        return self._items("/cas-backends")

    def get_cas_backend(self, name: str) -> dict[str, Any]:
        """One backend by name."""
        return dict(self._get(f"/cas-backends/{_q(name)}"))

    def update_cas_backend(
        self,
        name: str,
        *,
        config: dict[str, str | None] | None = None,
        secret: dict[str, str | None] | None = None,
        default: bool | None = None,
        fallback: bool | None = None,
        max_blob_size: int | None = None,
        skip_validation: bool = False,
    ) -> dict[str, Any]:
        """Change settings, rotate credentials (``secret``), move the default/fallback role."""
        body = {
            "config": config or None,
            "secret": secret or None,
            "default": default,
            "fallback": fallback,
            "max_blob_size": max_blob_size,
            "skip_validation": skip_validation,
        }
        clean = {k: v for k, v in body.items() if v is not None}
        reply = self._session.request("PATCH", f"/api/v1/cas-backends/{_q(name)}", json_body=clean)
        return dict(reply.json())

    def delete_cas_backend(self, name: str) -> None:
        """Remove a backend that holds no blobs."""
        self._session.request("DELETE", f"/api/v1/cas-backends/{_q(name)}")

    def validate_cas_backend(self, name: str) -> dict[str, Any]:
        """Probe a backend now; the backend with its new ``status``."""
        return dict(self._post(f"/cas-backends/{_q(name)}/validate", {}))

    # -- CAS tokens, signing, trust --------------------------------------------------------
    def cas_upload_token(
        self, run_id: str | None = None, *, project: str | None = None
    ) -> dict[str, Any]:
        """``{"token","url","expires_at","backend"}`` to upload evidence of a run, or without
        ``run_id`` a run-less upload (user tokens; ``project`` files it in the audit log)."""
        body = {"direction": "upload", "run_id": run_id, "project": project}
        return dict(self._post("/cas/tokens", body))

    def cas_download_token(self, digest: str) -> dict[str, Any]:
        """``{"token","url","expires_at"}`` to download one digest; NotFound if unreadable."""
        return dict(self._post("/cas/tokens", {"direction": "download", "digest": digest}))

    def signing_certificate(self, run_id: str, csr_pem: str) -> list[str]:
        """Certify a CSR for a run: the PEM chain, leaf first."""
        answer = self._post("/signing/certificates", {"run_id": run_id, "csr": csr_pem})
        return [str(c) for c in answer["chain"]]

    def trust_root(self) -> dict[str, Any]:
        """The organisation's trusted root (Sigstore ``trusted_root.json`` shape)."""
        return dict(self._get("/trust/root"))
