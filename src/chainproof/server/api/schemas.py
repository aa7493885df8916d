"""Request and response bodies of the JSON API (docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Organisation roles, least privilege first.
Role = Literal["viewer", "member", "admin", "owner"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class OrgRef(BaseModel):
    id: str
    name: str


class TokenRef(BaseModel):
    id: str | None
    name: str
    kind: str
    role: str
    project: str | None = None
    workflow: str | None = None
    #: Project name → role, for a member or viewer who sees only those projects.
    project_roles: dict[str, str] | None = None


class UserRef(BaseModel):
    id: str
    email: str | None = None
    name: str


class WhoAmI(BaseModel):
    org: OrgRef
    token: TokenRef
    #: The person acting (a sign-in session or a person's token); null for robots.
    user: UserRef | None = None


class ProjectIn(_In):
    name: str = Field(min_length=1, max_length=100)


class BlockOut(BaseModel):
    scope: str  # workflow | project
    reason: str | None
    by: str | None
    at: str | None


class ProjectOut(BaseModel):
    id: str
    name: str
    created_at: str
    blocked: bool = False
    block: BlockOut | None = None


class ContractIn(_In):
    name: str = Field(min_length=1, max_length=100)
    raw: str
    description: str | None = None


class ContractUpdate(_In):
    raw: str


class ContractOut(BaseModel):
    id: str
    name: str
    description: str | None
    revision: int
    latest_revision: int
    raw: str
    spec: dict[str, Any]
    created_at: str | None


class PolicyIn(_In):
    # A coarse cap before the service's byte limit (characters are at most that many bytes).
    document: str = Field(min_length=1, max_length=1024 * 1024)


class PolicyOut(BaseModel):
    name: str
    kind: Literal["Policy", "PolicyGroup"]
    description: str | None
    source: Literal["org", "builtin"]
    revision: int | None
    latest_revision: int | None
    digest: str
    uri: str
    document: str
    created_at: str | None
    created_by: str | None
    updated_at: str | None


class WorkflowIn(_In):
    name: str = Field(min_length=1, max_length=100)
    project: str = Field(min_length=1, max_length=100)
    team: str | None = None
    description: str | None = None
    contract: str | None = None


class WorkflowPatch(_In):
    team: str | None = None
    description: str | None = None
    contract: str | None = None
    blocked: bool | None = None


class WorkflowOut(BaseModel):
    id: str
    name: str
    project: str | None
    team: str | None
    description: str | None
    contract: str | None
    blocked: bool
    block: BlockOut | None = None
    archived: bool = False
    archived_at: str | None = None
    created_at: str | None


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=200)
    project: str | None = None
    workflow: str | None = None
    expires_in_seconds: int | None = Field(default=None, gt=0)
    policy_bypass: bool = False


class PersonalTokenIn(_In):
    name: str = Field(min_length=1, max_length=200)
    #: At most the person's own role (default: their role).
    role: Role | None = None
    expires_in_seconds: int = Field(default=30 * 86400, gt=0, le=365 * 86400)


class TokenOut(BaseModel):
    id: str
    name: str
    kind: str
    role: str
    project: str | None
    workflow: str | None
    expires_at: str | None
    revoked_at: str | None = None
    last_used_at: str | None = None
    created_at: str | None
    policy_bypass: bool = False
    token: str | None = None


class CiIdentityIn(_In):
    name: str = Field(min_length=1, max_length=100)
    provider: Literal["github", "gitlab", "oidc"]
    project: str = Field(min_length=1, max_length=100)
    workflow: str = Field(min_length=1, max_length=100)
    rules: list[str] = Field(max_length=20)
    issuer: str | None = Field(default=None, max_length=1000)
    audience: str = Field(default="chainproof", min_length=1, max_length=200)


class CiIdentityOut(BaseModel):
    id: str
    name: str
    provider: str
    issuer: str
    audience: str
    rules: list[str]
    project: str | None
    workflow: str | None
    created_at: str | None


class CiExchangeIn(_In):
    org: str = Field(min_length=1, max_length=100)
    id_token: str = Field(min_length=1, max_length=16384)
    #: A later step of a job: the run its ID token's first exchange started.
    run_id: str | None = Field(None, max_length=36)


class CiExchangeOut(BaseModel):
    token: str
    expires_at: str | None
    project: str | None
    workflow: str | None
    ci_identity: dict[str, Any]
    run_id: str | None = None


class RunnerIn(BaseModel):
    type: str = Field(min_length=1, max_length=50)
    url: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    environment: str = "unknown"


class RunInit(_In):
    workflow: str
    project: str
    project_version: str | None = None
    contract: str | None = None
    contract_revision: int | None = Field(default=None, ge=1)
    runner: RunnerIn


class MaterialOut(BaseModel):
    name: str
    kind: str
    digest: str
    size: int | None
    filename: str | None
    value: str | None
    annotations: dict[str, Any]
    summary: dict[str, Any]
    output: bool
    uploaded: bool
    cas_backend: str | None = None
    inline: bool = False


class RunOut(BaseModel):
    id: str
    workflow: str
    project: str | None
    project_version: str | None
    status: str
    reason: str | None
    runner_type: str
    runner_url: str | None
    contract_name: str | None
    contract_revision: int | None
    created_at: str | None
    finished_at: str | None
    expires_at: str | None = None
    attestation_digest: str | None
    verification: dict[str, Any] | None
    policy_result: str | None = None
    #: The verified CI identity of a job that authenticated with its OIDC ID token.
    ci_identity: dict[str, Any] | None = None
    materials: list[MaterialOut] | None = None


class VersionOut(BaseModel):
    version: str
    prerelease: bool
    released_at: str | None
    released_by: str | None
    created_at: str | None
    runs: int
    finished_runs: int
    succeeded_runs: int
    compliance: float | None


class PushOut(RunOut):
    """An accepted push: the run, the bundle as stored (with its log entry), and the policy
    evaluations the control plane made (Chainloop's shape plus source, gate, required)."""

    bundle: dict[str, Any]
    policy_evaluations: list[dict[str, Any]] = Field(default_factory=list)
    #: The run's project version after a push that asked to release it.
    project_version_release: VersionOut | None = None


class ContractRef(BaseModel):
    name: str
    revision: int
    latest_revision: int
    spec: dict[str, Any]
    #: What this revision requires that the workflow's last successful run's did not:
    #: ``{"contract", "since_revision", "changes": [...]}``, or None.
    new_requirements: dict[str, Any] | None = None
    #: ``{"revision", "at"}``: when a newer revision becomes required for this run, or None.
    deadline: dict[str, Any] | None = None


class RunInitOut(BaseModel):
    run: RunOut
    workflow: WorkflowOut
    org: OrgRef
    contract: ContractRef
    #: The organisation's required policies (``policies``/``policyGroups``), or None.
    required_policies: dict[str, Any] | None = None
    #: The hosts policies' http.send may reach (the organisation's allow-list).
    policies_allowed_hostnames: list[str] = []


class PushIn(_In):
    bundle: dict[str, Any]
    materials: list[dict[str, Any]] = Field(default_factory=list)
    public_key: str | None = None
    #: Let gated violations through (owner/admin users, robots granted it); audited.
    bypass_policy_check: bool = False
    #: Release the run's project version once the push succeeded; audited.
    release: bool = False


class ResetIn(_In):
    trigger: Literal["failure", "cancellation"]
    reason: str | None = Field(default=None, max_length=2000)


class CasTokenIn(_In):
    direction: Literal["upload", "download"]
    run_id: str | None = None
    digest: str | None = None


class CasTarget(BaseModel):
    name: str
    provider: str
    max_blob_size: int | None
    streams: bool = False


class CasTokenOut(BaseModel):
    token: str
    url: str
    expires_at: str | None
    backend: CasTarget


class CertificateIn(_In):
    run_id: str
    csr: str


class CertificateOut(BaseModel):
    chain: list[str]


class SigningCAOut(BaseModel):
    id: str
    subject: str
    sha256: str
    status: str  # issuing | rotated
    created_at: str
    trusted_until: str | None
    not_after: str
    certificate: str


class SigningKeyIn(_In):
    name: str = Field(min_length=1, max_length=200)
    public_key: str


class SigningKeyOut(BaseModel):
    id: str
    name: str
    public_key: str


class MemberOut(BaseModel):
    user_id: str
    email: str | None
    name: str
    role: str
    since: str
    last_sign_in_at: str | None = None


class MemberPatch(_In):
    role: Role


class InvitationIn(_In):
    email: str = Field(min_length=3, max_length=320)
    role: Role


class InvitationOut(BaseModel):
    id: str
    email: str
    role: str
    created_at: str


class ProviderOut(BaseModel):
    name: str
    issuer: str
    client_id: str


class SessionIn(_In):
    id_token: str = Field(min_length=1, max_length=16384)


class SessionOut(BaseModel):
    token: str
    expires_at: str | None
    user: UserRef
    #: Organisations joined by invitation at this sign-in.
    joined: list[str]


class SessionOrg(BaseModel):
    name: str
    role: str


class SessionRef(BaseModel):
    id: str
    expires_at: str | None


class SessionUser(UserRef):
    issuer: str | None = None


class SessionInfo(BaseModel):
    user: SessionUser
    session: SessionRef
    orgs: list[SessionOrg]
