"""SQLAlchemy rows (one module per domain), engine/session helpers, Alembic migrations."""

from chainproof.server.db.base import Base
from chainproof.server.db.cas_backends import CasBackend
from chainproof.server.db.ci_identity import CiIssuer, CiTokenUse
from chainproof.server.db.discover import Component, IndexedRun, Referrer
from chainproof.server.db.findings import Finding
from chainproof.server.db.integrations import (
    Delivery,
    DeliveryAttempt,
    EventRow,
    Integration,
    IntegrationAttachment,
)
from chainproof.server.db.orgs import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    ProjectMembership,
    SigningCA,
    SigningKey,
    User,
    UserSession,
)
from chainproof.server.db.policies import PolicyRevision, PolicyRow
from chainproof.server.db.projects import (
    ContractRevision,
    ContractRow,
    Project,
    ProjectVersion,
    Workflow,
)
from chainproof.server.db.runs import (
    Attestation,
    CasBlob,
    CasRunUpload,
    CasUpload,
    Material,
    PolicyEvaluationRow,
    RunState,
    VerificationSummary,
    WorkflowRun,
)
from chainproof.server.db.stats import WorkflowStats
from chainproof.server.db.trust import TlogLeaf, TlogNode, TransparencyLog, TrustKey

__all__ = [
    "ApiToken",
    "Attestation",
    "AuditEvent",
    "Base",
    "CasBackend",
    "CasBlob",
    "CasRunUpload",
    "CasUpload",
    "CiIssuer",
    "CiTokenUse",
    "Component",
    "ContractRevision",
    "ContractRow",
    "Delivery",
    "DeliveryAttempt",
    "EventRow",
    "Finding",
    "IndexedRun",
    "Integration",
    "IntegrationAttachment",
    "Invitation",
    "Material",
    "Membership",
    "Organization",
    "PolicyEvaluationRow",
    "PolicyRevision",
    "PolicyRow",
    "Project",
    "ProjectMembership",
    "ProjectVersion",
    "Referrer",
    "RunState",
    "SigningCA",
    "SigningKey",
    "TlogLeaf",
    "TlogNode",
    "TransparencyLog",
    "TrustKey",
    "User",
    "UserSession",
    "VerificationSummary",
    "Workflow",
    "WorkflowRun",
    "WorkflowStats",
]
