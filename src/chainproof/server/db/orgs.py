"""Tenancy and access rows: organisations, users, memberships, API tokens, signing, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    allow_implicit_creation: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: What a policy violation does when its attachment sets no ``gate``: ``advisory``
    #: (recorded) or ``enforced`` (the push is refused and the run blocked).
    policy_strategy: Mapped[str] = mapped_column(
        String(20), default="advisory", server_default="advisory"
    )
    #: Policies every workflow's runs are evaluated against, whatever their contract says:
    #: ``{"policies": {"materials": [...], "attestation": [...]}, "policyGroups": [...]}``.
    required_policies: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Once a contract revision is this old, runs on an older revision of that contract are
    #: refused (init pinned to one, push); None accepts every revision.
    contract_grace_seconds: Mapped[int | None] = mapped_column(Integer)
    #: The contract implicit workflow creation attaches instead of a new empty one (a
    #: contract id; no foreign key, as contracts already point at their organisation and
    #: are never deleted).
    default_contract_id: Mapped[str | None] = mapped_column(String(36))
    #: Refuse ``attestation init`` and pushes on a released project version.
    refuse_released_versions: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: API tokens (but owners') unused for this long are revoked by the worker; None keeps
    #: them until they expire or are revoked.
    revoke_unused_tokens_seconds: Mapped[int | None] = mapped_column(Integer)
    #: The host names policies' ``http.send`` may reach (lower case); None or empty: none.
    policy_allowed_hostnames: Mapped[list[str] | None] = mapped_column(JSON)


class User(Base):
    __tablename__ = "users"
    #: A person who signs in is found by their identity provider's issuer and subject
    #: (OIDC Core §5.7: only that pair is stable); users made by ``server init`` have neither.
    __table_args__ = (Index("ix_users_issuer_subject", "issuer", "subject", unique=True),)

    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issuer: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(255))
    #: The verified email address of the last sign-in (lower case); invitations match it.
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Invitation(Base):
    """An email address invited into an organisation with a role, accepted when a person
    whose verified email matches signs in (docs/identity.md)."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_email", "email"),)

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36))  # the inviter's token id
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A person's sign-in session: a secret (``cps_...``) stored as SHA-256, not bound to an
    organisation (the caller names one per request), expiring, revocable."""

    __tablename__ = "user_sessions"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectMembership(Base):
    """A person's role in one project (``admin`` or ``viewer``), beside their organisation
    role (docs/identity.md, "Project roles")."""

    __tablename__ = "project_memberships"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        Index("ix_project_memberships_org_id_user_id", "org_id", "user_id"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[str | None] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An owner or admin allowed this robot's pushes through gated policy violations with
    #: ``--exception-bypass-policy-check`` (recorded and audited on each use).
    policy_bypass: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: A CI job's token exchanged for its verified OIDC ID token: the trusted issuer's name
    #: and the claims (docs/ci-identity.md); runs it starts record them.
    ci_identity: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A CI token exchanged again for the run its ID token already started: it acts on that
    #: run only (docs/ci-identity.md, "Replays").
    run_id: Mapped[str | None] = mapped_column(String(36))


class SigningCA(Base):
    __tablename__ = "signing_cas"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    cert_pem: Mapped[str] = mapped_column(Text)
    key_pem: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    #: ``audit list`` reads an organisation's events newest first.
    __table_args__ = (Index("ix_audit_events_org_id_at", "org_id", "at"),)

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    actor_token_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
