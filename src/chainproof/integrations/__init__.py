"""Integrations: where chainproof's events go (webhooks, chat, email, ...).

A *kind* is an object with a ``name``, a pydantic ``config`` model, ``stdin_help`` (what its
secret is; None when the kind takes no secret) and a ``deliver(config, secret, event, timeout)``
method answering an :class:`Outcome`; optionally ``endpoints(config, secret)``, the URLs it
connects to, which the server checks before registering and before each attempt; optionally
``event_types``, the only event types it handles (an attachment defaults to them). Kinds that
export a run's evidence (Dependency-Track, OCI export) read it through ``event.content``
(:class:`RunContent`), which the server's worker supplies for run events. Kinds load as
Python entry points of the group ``chainproof.integrations`` (:func:`load_kinds`); the
built-in ones are declared the same way in chainproof's pyproject.toml, so a third party adds
a kind without forking. This package is library code: it never imports ``server/`` or
``cli/`` (docs/integrations.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel

GROUP = "chainproof.integrations"

#: Every event type chainproof emits (CloudEvents ``type`` is ``dev.chainproof.<type>``).
EVENT_TYPES = (
    "run.succeeded",
    "run.failed",
    "run.blocked",
    "policy.violated",
    "contract.published",
    "finding.opened",
    "finding.closed",
)


@dataclass(frozen=True)
class MaterialRef:
    """One material of a run: what it is and where its bytes are (``stored``: in the CAS or
    inline, so :meth:`RunContent.read` can return them)."""

    name: str
    kind: str
    digest: str
    stored: bool
    filename: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)


class RunContent(Protocol):
    """A run's evidence, read on demand by the kinds that export it (never sent whole)."""

    @property
    def version(self) -> str | None:
        """The run's project version (None: the run named none)."""
        ...

    def materials(self) -> list[MaterialRef]:
        """The run's materials (none for a run that pushed nothing)."""
        ...

    def read(self, material: MaterialRef) -> bytes:
        """A stored material's bytes, checked against its digest."""
        ...

    def bundle(self) -> bytes | None:
        """The pushed attestation bundle (Sigstore bundle JSON) as stored; None: no push."""
        ...


@dataclass(frozen=True)
class Event:
    """One event as delivered: ``id`` is also the receivers' idempotency key. ``content``:
    the run's evidence, for run events delivered by a worker that can read it."""

    id: str
    type: str
    time: datetime
    org: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
    content: RunContent | None = field(default=None, compare=False, repr=False)

    def summary(self) -> str:
        """One readable line for chat and email subjects."""
        d = self.data
        where = "/".join(str(d[k]) for k in ("project", "workflow") if d.get(k))
        if self.type.startswith("run."):
            status = self.type.split(".", 1)[1]
            why = f": {d['reason']}" if d.get("reason") else ""
            return f"[{self.org}] run of {where} {status}{why}"
        if self.type == "policy.violated":
            names = ", ".join(str(v) for v in d.get("violations", []))
            return f"[{self.org}] policy violation in a run of {where}: {names}"
        if self.type == "contract.published":
            uses = ", ".join(str(w) for w in d.get("workflows", [])) or "no workflow yet"
            return (
                f"[{self.org}] contract {d.get('contract')} revision {d.get('revision')} "
                f"published: new requirements for {uses}"
            )
        if self.type.startswith("finding."):
            action = self.type.split(".", 1)[1]
            return f"[{self.org}] {d.get('severity')} finding {d.get('kind')} {action} on {where}"
        return f"[{self.org}] {self.type} {self.subject}"

    def details(self) -> str:
        """A few lines more: links to the run and workflow in the dashboard (else to the
        contract in the API), when known."""
        lines = [self.summary()]
        links = [(k, self.data.get(f"{k}_url")) for k in ("run", "workflow")]
        lines += [f"{k}: {url}" for k, url in links if url]
        if not any(url for _, url in links) and self.data.get("url"):
            lines.append(str(self.data["url"]))
        return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt got: ``ok``, the receiver's status code, an error."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


@runtime_checkable
class Kind(Protocol):
    """An integration kind (module docstring)."""

    name: str
    description: str
    config: type[BaseModel]
    #: What the secret read with ``--secret-stdin`` is; None: the kind takes none.
    stdin_help: str | None

    def deliver(
        self, config: BaseModel, secret: str | None, event: Event, timeout: float
    ) -> Outcome: ...


#: The built-in kinds, as chainproof's pyproject.toml declares them (a unit test keeps the
#: two equal): loaded also when the installed metadata predates one of them (an editable
#: install made before the kind was added, until it is reinstalled).
BUILTIN = {
    "webhook": "chainproof.integrations.webhook:KIND",
    "slack": "chainproof.integrations.chat:SLACK",
    "discord": "chainproof.integrations.chat:DISCORD",
    "teams": "chainproof.integrations.chat:TEAMS",
    "email": "chainproof.integrations.mail:KIND",
    "dependency-track": "chainproof.integrations.dependency_track:KIND",
    "oci-export": "chainproof.integrations.oci_export:KIND",
}


def load_kinds() -> dict[str, Kind]:
    """Every installed kind by name (entry points of :data:`GROUP`, plus :data:`BUILTIN`);
    one whose entry point fails to load or is not a :class:`Kind` is left out."""
    points = {p.name: p for p in entry_points(group=GROUP)}
    for name, value in BUILTIN.items():
        points.setdefault(name, EntryPoint(name, value, GROUP))
    kinds: dict[str, Kind] = {}
    for point in points.values():
        try:
            kind = point.load()
        except Exception:  # noqa: S112 - a broken third-party kind must not stop the others
            continue
        if isinstance(kind, Kind) and kind.name == point.name:
            kinds[kind.name] = kind
    return dict(sorted(kinds.items()))


@cache
def http_client() -> httpx.Client:
    """One HTTP client shared by the kinds' deliveries (it is thread-safe): its TLS context
    is built once, not per attempt, which would cost the process CPU beside the requests it
    serves. No idle connection is kept (receivers are many and rarely called twice in a
    row; nothing is left open at exit). Redirects are not followed: a 3xx is retried."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(follow_redirects=False, limits=limits)


def status_outcome(status_code: int, text: str = "") -> Outcome:
    """Outcome of an HTTP answer: any 2xx is delivered, anything else is retried."""
    if 200 <= status_code < 300:
        return Outcome(True, status_code)
    return Outcome(False, status_code, f"HTTP {status_code}: {text[:200]}".rstrip(": "))
