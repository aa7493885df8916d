"""The discover index (docs/discover.md): which runs name a digest, and which SBOM
components each run ships. Filled off the push's path by ``server/jobs/discover.py``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chainproof.server.db.base import Base, UTCDateTime, utcnow


class Referrer(Base):
    """A digest a run's attestation names: as ``subject``, as ``material`` or as the
    ``attestation`` itself (the bundle's digest)."""

    __tablename__ = "referrers"
    __table_args__ = (
        UniqueConstraint("run_id", "role", "name", "digest"),
        Index("ix_referrers_org_id_digest", "org_id", "digest"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    #: The material's evidence kind (None for a subject that is no material).
    kind: Mapped[str | None] = mapped_column(String(50))
    #: A container image's repository and tag, as the material recorded them.
    repository: Mapped[str | None] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(200))


class Component(Base):
    """One component of one SBOM a run pushed. ``package`` is the purl without version,
    qualifiers and subpath (a search by purl without ``@version`` matches every version);
    ``licenses`` is ``|``-delimited (``|MIT|Apache-2.0|``) so one LIKE finds a license."""

    __tablename__ = "components"
    __table_args__ = (
        # Few indexes: each one slows the ingest. The unique key leads with run_id (a run's
        # components); a purl search is (package, version), a name search (name).
        UniqueConstraint("run_id", "sbom_digest", "key"),
        Index("ix_components_org_id_package_version", "org_id", "package", "version"),
        Index("ix_components_org_id_name", "org_id", "name"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(String(36))
    #: The run's creation time: the order of component lists (keyset paging).
    run_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sbom_digest: Mapped[str] = mapped_column(String(200))
    #: Unique within one SBOM: the purl, else ``name@version`` (and the type).
    key: Mapped[str] = mapped_column(Text)
    purl: Mapped[str | None] = mapped_column(Text)
    package: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(50))
    licenses: Mapped[str] = mapped_column(Text, default="")
    #: ``alg:hex`` pairs, space-separated.
    hashes: Mapped[str] = mapped_column(Text, default="")


class IndexedRun(Base):
    """A run the discover job has indexed: its watermark and what it found (``error``: an
    SBOM that could not be read; its components are missing)."""

    __tablename__ = "indexed_runs"
    __table_args__ = (Index("ix_indexed_runs_attested_at", "attested_at"),)

    run_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), unique=True
    )
    #: The attestation's ``created_at``: the job's watermark is the newest of these.
    attested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    components: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
