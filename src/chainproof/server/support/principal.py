"""Who is acting: the authenticated token, its organisation, role and robot scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chainproof.errors import Forbidden, NotFound

#: Which role may do what: the one table every service checks through the ``require_*``
#: methods below (docs/identity.md, "Roles"). ``read``: see the organisation's projects,
#: workflows, runs, contracts, findings and members; ``attest``: run attestations;
#: ``admin``: change settings, projects, workflows, contracts, policies, tokens, CI identities,
#: members and invitations. Granting, changing or removing a role, or revoking a token, also
#: needs a rank at least that role's (:data:`ROLE_RANK`).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"owner", "admin", "member", "viewer"}),
    "attest": frozenset({"owner", "admin", "member"}),
    "admin": frozenset({"owner", "admin"}),
}
ROLES = ("owner", "admin", "member", "viewer")
#: Project roles (docs/identity.md, "Project roles"): within its project, a project role
#: counts as this organisation role in :data:`PERMISSIONS`, when it is higher than the
#: person's own. A member or viewer of the organisation who holds any project role sees only
#: those projects; owners and admins see every project whatever they hold.
PROJECT_ROLES: dict[str, str] = {"admin": "admin", "viewer": "viewer"}
ADMIN_ROLES = PERMISSIONS["admin"]
ATTEST_ROLES = PERMISSIONS["attest"]
#: The role order (docs/api.md, "Roles"): nobody acts on a principal that outranks them. A
#: robot token ranks with viewers: it holds no user's rights beyond its attestations.
ROLE_RANK = {"owner": 3, "admin": 2, "member": 1, "viewer": 0, "robot": 0}


@dataclass(frozen=True)
class Principal:
    """The caller, as resolved from an API token (None ids for system jobs)."""

    org_id: str
    org_name: str
    token_id: str | None
    token_name: str
    kind: str  # user | robot | system
    role: str
    project_id: str | None = None
    project_name: str | None = None
    workflow_id: str | None = None
    workflow_name: str | None = None
    policy_bypass: bool = False  # a robot granted --exception-bypass-policy-check
    #: The verified CI identity of a token a job exchanged for its OIDC ID token.
    ci_identity: dict[str, Any] | None = None
    #: The person acting: a user token's user, or the user of a sign-in session.
    user_id: str | None = None
    #: A sign-in session's id (``token_id`` is then None: it names API tokens only).
    session_id: str | None = None
    #: A CI token exchanged again for one run: it acts on that run only (docs/ci-identity.md).
    run_id: str | None = None
    #: Project id → project role of a member or viewer who holds project roles: they see
    #: those projects only. None: no such restriction (owners, admins, robots, and people
    #: holding no project role).
    project_roles: Mapping[str, str] | None = None

    @property
    def actor_id(self) -> str | None:
        """What the audit trail records as the actor: the token or the session."""
        return self.token_id or self.session_id

    @property
    def is_robot(self) -> bool:
        """Robots may only attest and read runs of their scope."""
        return self.kind == "robot"

    @property
    def may_bypass_policies(self) -> bool:
        """Owner and admin users may push through gated violations; robots when granted."""
        if self.is_robot:
            return self.policy_bypass
        return self.kind == "user" and self.role in ADMIN_ROLES

    def require_admin(self) -> None:
        """Raise Forbidden unless an owner or admin user token acts."""
        if self.kind == "system":
            return
        if self.is_robot or self.role not in ADMIN_ROLES:
            raise Forbidden(
                "this action needs an owner or admin token",
                hint="robot tokens may only run attestations",
            )

    @property
    def restricted(self) -> bool:
        """Whether this person sees only the projects they hold a role in."""
        return self.project_roles is not None

    def role_in(self, project_id: str) -> str | None:
        """The role this principal acts with in the project; None when it may not see it."""
        if self.project_roles is None:
            return self.role
        held = self.project_roles.get(project_id)
        if held is None:
            return None
        return max(self.role, PROJECT_ROLES[held], key=lambda r: ROLE_RANK.get(r, -1))

    def require_admin_somewhere(self) -> None:
        """:meth:`require_admin`, or for a person holding project roles: an admin of one of
        them (which project is checked once the object is found)."""
        if self.project_roles is not None and "admin" in self.project_roles.values():
            return
        self.require_admin()

    def require_attestor_somewhere(self) -> None:
        """:meth:`require_attestor`, or for a person holding project roles: one of their
        projects lets them attest."""
        if self.project_roles is not None and any(
            self.role_in(p) in ATTEST_ROLES for p in self.project_roles
        ):
            return
        self.require_attestor()

    def require_in_project(self, project_id: str, permission: str, what: str) -> None:
        """Raise NotFound (naming ``what``) when the project is hidden from this person,
        Forbidden when their role there lacks ``permission`` (read, attest, admin). Robots
        keep their own rules (scope: :meth:`check_scope`)."""
        if self.kind == "system":
            return
        if self.is_robot:
            {"read": self.require_reader, "attest": self.require_attestor}.get(
                permission, self.require_admin
            )()
            return
        role = self.role_in(project_id)
        if role is None:
            raise NotFound(f"{what} not found")
        if role not in PERMISSIONS[permission]:
            raise Forbidden(
                f"the {role} role may not {_VERBS[permission]} {what}",
                hint="this needs an owner or admin, or the project's admin"
                if permission == "admin"
                else "this needs an owner, admin or member, or the project's admin",
            )

    def require_outranks_or_equals(self, role: str, action: str) -> None:
        """Raise Forbidden when the principal acted on (``role``, the highest of the token
        and its user) outranks this one: an admin may not revoke an owner's token."""
        if self.kind == "system":
            return
        mine = -1 if self.is_robot else ROLE_RANK.get(self.role, -1)
        if ROLE_RANK.get(role, len(ROLE_RANK)) > mine:
            raise Forbidden(
                f"the {self.role} role may not {action} of the more privileged {role} role",
                hint="ask a principal with that role or a higher one",
            )

    def require_reader(self) -> None:
        """Raise Forbidden for robots (they read runs only)."""
        if self.is_robot:
            raise Forbidden("robot tokens may only run attestations and read their runs")

    def require_attestor(self) -> None:
        """Raise Forbidden unless the token may run attestations."""
        if self.kind in ("robot", "system"):
            return
        if self.role not in ATTEST_ROLES:
            raise Forbidden(f"a {self.role} token may not run attestations")

    def check_scope(self, project_id: str, workflow_id: str) -> None:
        """Raise Forbidden when a scoped robot reaches outside its project or workflow."""
        if self.project_id and self.project_id != project_id:
            raise Forbidden(f"this token is restricted to project {self.project_name!r}")
        if self.workflow_id and self.workflow_id != workflow_id:
            raise Forbidden(f"this token is restricted to workflow {self.workflow_name!r}")


_VERBS = {"read": "read", "attest": "run attestations for", "admin": "administer"}
