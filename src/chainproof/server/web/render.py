"""Jinja2 templates: one environment per process, autoescaped, strict about missing names."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from chainproof.errors import ChainproofError

#: The navigation bar: (path, label, who sees it — None for every signed-in role).
NAV: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("/", "Overview", None),
    ("/workflows", "Workflows", None),
    ("/runs", "Runs", None),
    ("/contracts", "Contracts", None),
    ("/findings", "Findings", None),
    ("/audit", "Audit log", frozenset({"owner", "admin"})),
)


@cache
def environment() -> Environment:
    """The templates of ``chainproof.server.web`` (built once, on first use)."""
    env = Environment(
        loader=PackageLoader("chainproof.server.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = ago
    env.filters["short"] = short_digest
    env.globals["nav"] = NAV
    return env


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context`` (plus ``request``) as an HTML response."""
    html = environment().get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, err: ChainproofError) -> HTMLResponse:
    """The error page: what went wrong and what to do, with the error's HTTP status."""
    return render(
        request,
        "error.html",
        status=err.http_status,
        error=err,
        principal=None,
        csrf="",
        orgs=[],
    )


def ago(value: str | datetime | None, now: datetime | None = None) -> str:
    """``3 min ago``-style text for an RFC 3339 string or datetime (``—`` for None)."""
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def short_digest(value: str | None, length: int = 12) -> str:
    """``sha256:0123456789ab`` — a digest cut to ``length`` hex characters."""
    if not value:
        return "—"
    algorithm, _, hexdigest = value.partition(":")
    return f"{algorithm}:{hexdigest[:length]}" if hexdigest else value[:length]
