"""Trusted CI issuers: whose OIDC ID tokens a CI job may exchange for a short-lived token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow


class CiIssuer(Base):
    """One trust rule: tokens of ``issuer_url`` for ``audience`` whose claims satisfy
    ``rules`` may act as a robot scoped to ``project_id``/``workflow_id``."""

    __tablename__ = "ci_issuers"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: ``github``, ``gitlab`` or ``oidc`` (which claims the docs and the run view name).
    provider: Mapped[str] = mapped_column(String(20))
    issuer_url: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(200))
    #: ``[{"claim": ..., "op": "equals"|"glob", "value": ...}, ...]`` (core.claim_rules).
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CiTokenUse(Base):
    """An OIDC ID token exchanged once (docs/ci-identity.md, "Replays"): kept until the ID
    token expires, so that a second exchange of it is refused, unless it comes back for the
    run the first exchange's token started (``run_id``)."""

    __tablename__ = "ci_token_uses"
    __table_args__ = (UniqueConstraint("org_id", "key_hash"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    #: SHA-256 of the issuer and ``jti``, or of the whole token when it has no ``jti``.
    key_hash: Mapped[str] = mapped_column(String(64))
    #: The ID token's ``exp`` plus the verification leeway: the row may go after that.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: The token the first exchange made (None once the expiry job deleted it).
    token_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL"), index=True
    )
    #: The run that token started last: the one run a re-exchange may be bound to.
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
