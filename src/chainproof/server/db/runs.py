"""Workflow runs, their attestation and materials, and which CAS blobs each org owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow


class WorkflowRun(Base):
    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_workflow_id_created_at", "workflow_id", "created_at"),
        Index("ix_workflow_runs_status_expires_at", "status", "expires_at"),
        Index("ix_workflow_runs_org_id_created_at", "org_id", "created_at"),
        # Keyset paging of run lists, newest first (services/runs.py ``list_page``).
        Index("ix_workflow_runs_org_id_created_at_id", "org_id", "created_at", "id"),
        Index("ix_workflow_runs_workflow_id_created_at_id", "workflow_id", "created_at", "id"),
        Index("ix_workflow_runs_org_id_status_created_at", "org_id", "status", "created_at"),
        # Per-version run counts (services/versions.py) and the run list's --version filter.
        Index("ix_workflow_runs_project_version_id", "project_version_id"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    project_version_id: Mapped[str | None] = mapped_column(ForeignKey("project_versions.id"))
    status: Mapped[str] = mapped_column(String(20), default="initialized")
    reason: Mapped[str | None] = mapped_column(Text)
    runner_type: Mapped[str] = mapped_column(String(50))
    runner_url: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contract_revision_id: Mapped[str] = mapped_column(ForeignKey("contract_revisions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attestation_digest: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The policies' verdict at push: ``passed``, ``violated`` or ``none`` (nothing was
    #: evaluated); None until the run is pushed.
    policy_result: Mapped[str | None] = mapped_column(String(10))
    #: The verified CI identity (issuer, claims) of the token that started the run, when it
    #: was exchanged for an OIDC ID token (docs/ci-identity.md); None for stored tokens.
    ci_identity: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Attestation(Base):
    __tablename__ = "attestations"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), unique=True
    )
    bundle: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(100), index=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Indexed for the discover job's watermark scan (server/jobs/discover.py).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Material(Base):
    __tablename__ = "materials"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    digest: Mapped[str] = mapped_column(String(200), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    filename: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The CAS backend holding the blob when ``uploaded`` (None: the embedded store).
    cas_backend_id: Mapped[str | None] = mapped_column(ForeignKey("cas_backends.id"))
    #: The bytes are embedded (base64 ``content``) in the run's stored statement: an
    #: ``inline`` CAS backend held them, no blob store did.
    inline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CasBlob(Base):
    """A blob an organisation uploaded, and where: ``backend`` is the provider, ``backend_id``
    the organisation's CAS backend (None: the server's embedded filesystem store)."""

    __tablename__ = "cas_blobs"
    __table_args__ = (UniqueConstraint("org_id", "digest"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    backend: Mapped[str] = mapped_column(String(20), default="fs")
    backend_id: Mapped[str | None] = mapped_column(ForeignKey("cas_backends.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CasRunUpload(Base):
    """A blob sent to the CAS for a run (its upload token named the run): proof that the run
    holds the bytes, which push requires of every CAS material the pusher cannot already read
    (docs/cas.md, "Who can download what"). One row per run and digest."""

    __tablename__ = "cas_run_uploads"
    __table_args__ = (UniqueConstraint("run_id", "digest"),)

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CasUpload(Base):
    """Who uploaded a blob outside any run (``artifact upload``), so that it can be downloaded
    without a run referencing it: the uploading token and its user, and the project it was
    filed under (named, or the token's own scope). One row per uploader and project."""

    __tablename__ = "cas_uploads"
    __table_args__ = (Index("ix_cas_uploads_org_id_digest", "org_id", "digest"),)

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    #: The backend holding the blob (None: the server's embedded filesystem store).
    backend_id: Mapped[str | None] = mapped_column(ForeignKey("cas_backends.id"))
    token_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunState(Base):
    """The crafting state of a run kept by the control plane (``attestation init
    --remote-state``), encrypted at rest; ``digest`` versions it for optimistic concurrency."""

    __tablename__ = "run_states"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), unique=True
    )
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationSummary(Base):
    """The signed SLSA VSA the control plane issued for a run it verified at push.

    ``result`` is the VSA's ``verificationResult`` (PASSED or FAILED), ``level`` the SLSA
    Build level it claims, ``bundle`` the Sigstore bundle (JSON text) and ``digest`` its
    SHA-256.
    """

    __tablename__ = "verification_summaries"

    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), unique=True
    )
    result: Mapped[str] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(Integer)
    bundle: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(100))
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The run's SLSA Provenance v1 bundle, signed and logged on its first request.
    provenance_bundle: Mapped[str | None] = mapped_column(Text, default=None)


class PolicyEvaluationRow(Base):
    """One policy's result on one material (or the attestation) of a pushed run.

    ``source`` says who evaluated it: ``server`` (the control plane, authoritatively, at push)
    or ``client`` (the CLI, for policies the control plane cannot load, such as ``file://``
    ones in the job's checkout). ``gate`` is the effective one: the attachment's, else its
    group's, else the organisation's strategy. ``required`` marks organisation-required
    policies, which no contract can drop.
    """

    __tablename__ = "policy_evaluations"
    __table_args__ = (Index("ix_policy_evaluations_org_id_policy", "org_id", "policy"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    #: Order of evaluation within the run.
    position: Mapped[int] = mapped_column(Integer)
    material: Mapped[str | None] = mapped_column(String(200))
    policy: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(10))
    gate: Mapped[bool] = mapped_column(Boolean)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: The evaluation as the predicate's ``policyEvaluations`` hold it (Chainloop's form).
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
