"""Trusted CI issuers and the exchange of a CI job's OIDC ID token for a short-lived token.

An organisation admin registers an issuer (GitHub Actions, GitLab CI or any OIDC provider)
with an audience and claim rules (core.claim_rules) that map a job to one project and
workflow. A job then posts its ID token with the organisation's name; once the token's
signature, issuer, audience and lifetime are verified (support.oidc) and every rule of a
registration holds, the job gets a robot token scoped to that workflow, expiring soon, that
carries the verified identity into the runs it starts (docs/ci-identity.md).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from chainproof.core.claim_rules import ClaimRule, check_all
from chainproof.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from chainproof.server.db import ApiToken, CiIssuer, Project, Workflow
from chainproof.server.db.base import utcnow
from chainproof.server.services import audit, ci_replay, orgs, projects, tokens, workflows
from chainproof.server.support.oidc import JwksCache, unverified_issuer
from chainproof.server.support.principal import Principal
from chainproof.server.support.times import rfc3339

#: provider → (default issuer URL, claims one exact rule must pin: which repository).
PROVIDERS: dict[str, tuple[str | None, frozenset[str]]] = {
    "github": (
        "https://token.actions.githubusercontent.com",
        frozenset({"repository", "repository_id", "repository_owner", "repository_owner_id"}),
    ),
    "gitlab": (
        "https://gitlab.com",
        frozenset({"project_path", "project_id", "namespace_path", "namespace_id"}),
    ),
    "oidc": (None, frozenset()),
}
_MAX_CLAIMS = 64
_MAX_CLAIM_CHARS = 1000
_ADD_HINT = "an owner or admin registers it with `chainproof ci-identity add`"


def create(
    session: Session,
    actor: Principal,
    *,
    name: str,
    provider: str,
    project: str,
    workflow: str,
    rules: list[str],
    issuer_url: str | None = None,
    audience: str = "chainproof",
) -> CiIssuer:
    """Register a trusted issuer (owner/admin); the project and workflow are created if
    missing. Conflict when the name is taken."""
    actor.require_admin()
    orgs.check_name("CI identity", name)
    if provider not in PROVIDERS:
        raise InvalidInput(
            f"unknown CI provider {provider!r}", hint=f"use one of {', '.join(PROVIDERS)}"
        )
    default_issuer, pinned = PROVIDERS[provider]
    issuer = _issuer_url(issuer_url or default_issuer, provider)
    parsed = [ClaimRule.parse(text) for text in rules]
    _require_pinned(parsed, provider, pinned)
    if not audience or len(audience) > 200:
        raise InvalidInput("the audience needs 1 to 200 characters")
    taken = select(CiIssuer.id).where(CiIssuer.org_id == actor.org_id, CiIssuer.name == name)
    if session.scalar(taken):
        raise Conflict(f"CI identity {name!r} already exists", hint="remove it first")
    project_row = projects.ensure(session, actor, project)
    workflow_row = workflows.ensure(session, actor, project_row, workflow, None)
    row = CiIssuer(
        org_id=actor.org_id,
        name=name,
        provider=provider,
        issuer_url=issuer,
        audience=audience,
        rules=[rule.to_dict() for rule in parsed],
        project_id=project_row.id,
        workflow_id=workflow_row.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor.org_id,
        actor,
        "ci_identity.create",
        row.id,
        name=name,
        issuer=issuer,
        rules=[str(rule) for rule in parsed],
    )
    return row


def list_all(session: Session, actor: Principal) -> list[CiIssuer]:
    """The organisation's trusted issuers, by name (owner/admin)."""
    actor.require_admin()
    stmt = select(CiIssuer).where(CiIssuer.org_id == actor.org_id).order_by(CiIssuer.name)
    return list(session.scalars(stmt))


def remove(session: Session, actor: Principal, name: str) -> None:
    """Forget a trusted issuer (owner/admin); tokens already exchanged run out on their own."""
    actor.require_admin()
    row = session.scalar(
        select(CiIssuer).where(CiIssuer.org_id == actor.org_id, CiIssuer.name == name)
    )
    if row is None:
        raise NotFound(f"CI identity {name!r} not found", hint="see `chainproof ci-identity list`")
    session.delete(row)
    audit.record(session, actor.org_id, actor, "ci_identity.remove", row.id, name=name)


def exchange(
    session: Session,
    keys: JwksCache,
    *,
    org: str,
    id_token: str,
    lifetime_seconds: int,
    run_id: str | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A short-lived robot token for the job ``id_token`` proves; Unauthorized when the token
    is not a valid one of a trusted issuer or was exchanged before (unless ``run_id`` names
    the run its first exchange started: the token is then bound to that run, docs/ci-identity.md
    "Replays"), Forbidden naming the failed rule of each registration of that issuer when
    none accepts the job."""
    org_row = orgs.find_org(session, org)
    if org_row is None:
        raise Unauthorized(f"organisation {org!r} not found", hint="check --org / CHAINPROOF_ORG")
    issuer = unverified_issuer(id_token)
    candidates = list(
        session.scalars(
            select(CiIssuer)
            .where(CiIssuer.org_id == org_row.id, CiIssuer.issuer_url == issuer)
            .order_by(CiIssuer.name)
        )
    )
    if not candidates:
        raise Unauthorized(
            f"{issuer} is not a trusted CI issuer of organisation {org!r}", hint=_ADD_HINT
        )
    claims = keys.verify(id_token, issuer=issuer, audiences={c.audience for c in candidates})
    chosen = _accepting(candidates, claims)
    now = now or utcnow()
    key = ci_replay.use_key(issuer, claims, id_token)
    bound_run = ci_replay.admit(session, org_row.id, key, claims, run_id, now)
    recorded = _recorded(claims)
    identity = {
        "name": chosen.name,
        "provider": chosen.provider,
        "issuer": issuer,
        "claims": recorded,
    }
    secret = tokens.new_secret()
    row = ApiToken(
        org_id=org_row.id,
        name=f"ci-identity {chosen.name}",
        kind="robot",
        role="robot",
        project_id=chosen.project_id,
        workflow_id=chosen.workflow_id,
        token_hash=tokens.hash_secret(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime_seconds),
        ci_identity=identity,
        run_id=bound_run,
    )
    session.add(row)
    session.flush()
    if bound_run is None:
        ci_replay.remember_token(session, org_row.id, key, row.id)
    audit.record(
        session,
        org_row.id,
        None,
        "ci_identity.exchange",
        row.id,
        name=chosen.name,
        subject=recorded.get("sub"),
        run=bound_run,
    )
    return row, secret


def _accepting(candidates: list[CiIssuer], claims: dict[str, Any]) -> CiIssuer:
    """The first registration whose audience and rules the claims satisfy."""
    audience = claims.get("aud")
    audiences = set(audience) if isinstance(audience, list) else {audience}
    failures: list[str] = []
    for candidate in candidates:
        if candidate.audience not in audiences:
            failures.append(f"{candidate.name}: the audience is not {candidate.audience!r}")
            continue
        try:
            check_all((ClaimRule.from_dict(r) for r in candidate.rules), claims)
        except Forbidden as refused:
            failures.append(f"{candidate.name}: {refused.message}")
            continue
        return candidate
    raise Forbidden(
        "no trusted CI identity accepts this job: " + "; ".join(failures),
        hint="run the job from the repository and ref the rules name, or ask an admin to "
        "change them (`chainproof ci-identity list`)",
        failures=failures,
    )


def _recorded(claims: dict[str, Any]) -> dict[str, Any]:
    """The token's scalar claims (bounded), as the run records them."""
    kept: dict[str, Any] = {}
    for key, value in sorted(claims.items()):
        if len(kept) >= _MAX_CLAIMS:
            break
        if isinstance(value, str) and len(value) <= _MAX_CLAIM_CHARS:
            kept[key] = value
        elif isinstance(value, (bool, int)):
            kept[key] = value
    return kept


def _issuer_url(url: str | None, provider: str) -> str:
    """An https URL, or http on a loopback host (tests, a provider beside the server)."""
    if not url:
        raise InvalidInput(f"a {provider} CI identity needs --issuer (the issuer URL)")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise InvalidInput(
        f"issuer URL {url!r} must be https (http only on a loopback host)",
        hint="use the issuer URL exactly as the tokens' iss claim spells it",
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_pinned(rules: list[ClaimRule], provider: str, pinned: frozenset[str]) -> None:
    """Every registration needs rules; GitHub and GitLab ones an exact rule on the repository
    (or its owner): their issuers sign the jobs of every repository of the service."""
    if not rules:
        raise InvalidInput("a CI identity needs at least one claim rule", hint="--rule ...")
    if pinned and not any(r.op == "==" and r.claim in pinned for r in rules):
        names = ", ".join(sorted(pinned))
        raise InvalidInput(
            f"a {provider} CI identity needs an exact (==) rule on one of: {names}",
            hint="its issuer signs the jobs of every repository; e.g. --rule "
            "'repository == acme/shop'",
        )


def view(session: Session, row: CiIssuer) -> dict[str, Any]:
    """JSON form."""
    project = session.get(Project, row.project_id)
    workflow = session.get(Workflow, row.workflow_id)
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "issuer": row.issuer_url,
        "audience": row.audience,
        "rules": [str(ClaimRule.from_dict(r)) for r in row.rules],
        "project": project.name if project else None,
        "workflow": workflow.name if workflow else None,
        "created_at": rfc3339(row.created_at),
    }


def token_scope(session: Session, row: ApiToken) -> dict[str, str | None]:
    """The project and workflow names an exchanged token is scoped to."""
    project = session.get(Project, row.project_id) if row.project_id else None
    workflow = session.get(Workflow, row.workflow_id) if row.workflow_id else None
    return {
        "project": project.name if project else None,
        "workflow": workflow.name if workflow else None,
    }
