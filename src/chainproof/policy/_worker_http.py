"""``http.send`` for the Rego worker, towards allow-listed hosts only (not a public API).

rego-cpp declares ``http.send`` but does not implement it, and regopy offers no way to
register a built-in (rego-cpp's custom built-ins are C++ only). rego-cpp does implement
Rego's function mocking (``with http.send as f``), so the worker evaluates a policy that
calls ``http.send`` through :data:`SHIM`, a module whose ``result`` and ``violations`` are the
policy's ``with http.send as send``. ``send(request)`` answers from
``input.__chainproof_http`` (pairs ``[request, response]``); a request not answered yet is
printed (``print`` output lands in the worker's scratch file) and answered, for now, with
status 0. The worker then checks each printed request's host against the allow-list, makes
the allowed ones here (:func:`fetch`), and evaluates again with the answers, until a round
asks for nothing new (at most ``MAX_ROUNDS`` rounds and ``MAX_REQUESTS`` requests). A host
not on the list fails the evaluation before any request is made.

As OPA's ``http.send``: redirects are not followed (``enable_redirect`` is not supported), the
response is ``{status, status_code, headers, raw_body, body}`` (``body`` the JSON-decoded
``raw_body``, null when it is not JSON), and a network error fails the evaluation unless the
request says ``raise_error: false`` (then ``status_code`` 0 and ``error``). Not supported:
``tls_*`` and client certificates, ``cache``, ``force_cache``, ``timeout`` (each request has
``REQUEST_TIMEOUT`` seconds, within the evaluation's own time limit).

Imported by ``_worker.py`` by path: it uses the standard library only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

PACKAGE = "chainproof_http_send"
MARKER = "__CHAINPROOF_HTTP_SEND__"
MAX_ROUNDS = 8
MAX_REQUESTS = 32
MAX_BYTES = 4 * 1024 * 1024
REQUEST_TIMEOUT = 5.0

SHIM = f"""package {PACKAGE}

import rego.v1

send(request) := response if {{
\tsome pair in input.__chainproof_http
\tpair[0] == request
\tresponse := pair[1]
}} else := {{"status_code": 0, "status": "", "headers": {{}}, "raw_body": "", "body": null}} if {{
\tprint("{MARKER}", json.marshal(request))
}}

result := x if {{
\tx := data.%(package)s.result with http.send as send
}}

violations := x if {{
\tx := data.%(package)s.violations with http.send as send
}}
"""


class Refused(Exception):
    """A request the allow-list refuses, or one that failed (the message says which)."""


def shim(package: str) -> str:
    """The shim module for a policy in ``package``."""
    return SHIM % {"package": package}


def requests_in(printed: str) -> list[dict[str, Any]]:
    """The requests a round asked for, from the interpreter's printed output, in order."""
    found: list[dict[str, Any]] = []
    for line in printed.splitlines():
        if not line.startswith(MARKER):
            continue
        text = line[len(MARKER) :].strip()
        try:
            value = json.loads(text)
            if isinstance(value, str):
                value = json.loads(value)
        except ValueError:
            # NOTE: rego-cpp prints a string argument escaped, without its quotes.
            value = json.loads(json.loads(f'"{text}"'))
        if isinstance(value, dict) and value not in found:
            found.append(value)
    return found


def check_host(request: dict[str, Any], allowed: Collection[str]) -> str:
    """The request's URL when its host is allow-listed; Refused otherwise."""
    url = request.get("url")
    if not isinstance(url, str):
        raise Refused("http.send: the request has no url")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise Refused(f"http.send: {url!r} is not an http:// or https:// URL")
    if host not in allowed:
        raise Refused(
            f"http.send to {host} is not allowed (allowed hosts: {', '.join(sorted(allowed))})"
        )
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the answer: a redirect must not leave the allow-list


def fetch(request: dict[str, Any], allowed: Collection[str]) -> dict[str, Any]:
    """Make an allow-listed request; its response as OPA's ``http.send`` gives it."""
    url = check_host(request, allowed)
    method = str(request.get("method") or "GET").upper()
    headers = {str(k): str(v) for k, v in dict(request.get("headers") or {}).items()}
    data = None
    if request.get("raw_body") is not None:
        data = str(request["raw_body"]).encode("utf-8")
    elif request.get("body") is not None:
        data = json.dumps(request["body"]).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    call = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (check_host: http or https only)
    try:
        with opener.open(call, timeout=REQUEST_TIMEOUT) as answer:
            status, reason, got, raw = answer.status, answer.reason, answer.headers, b""
            raw = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as err:
        status, reason, got, raw = err.code, err.reason, err.headers, err.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as err:
        problem = getattr(err, "reason", None) or err
        if request.get("raise_error") is False:
            error = {"code": "eval_http_send_network_error", "message": str(problem)}
            return {"status_code": 0, "error": error}
        raise Refused(f"http.send {method} {url}: {problem}") from None
    if len(raw) > MAX_BYTES:
        raise Refused(f"http.send {method} {url}: the response is larger than {MAX_BYTES} bytes")
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    values: dict[str, list[str]] = {}
    for key, value in got.items():
        values.setdefault(key.lower(), []).append(value)
    return {
        "status": f"{status} {reason}".strip(),
        "status_code": status,
        "headers": values,
        "raw_body": text,
        "body": body,
    }
