"""``ApiClient`` calls for stopping and tidying up: blocks, renames, archives, deletions
and the audit log (owner/admin endpoints of docs/api.md). Mixed into
:class:`chainproof.client.http.ApiClient`, which provides the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from chainproof.client.http import HttpSession


def _q(segment: str) -> str:
    return quote(segment, safe="")


class LifecycleCalls:
    """Blocks, lifecycle and audit calls; every method raises a ChainproofError subclass
    (Forbidden, exit 3, for tokens that are not an owner's or an admin's)."""

    if TYPE_CHECKING:
        _session: HttpSession

        def _get(self, path: str, **params: Any) -> Any: ...

        def _post(self, path: str, body: dict[str, Any], **kw: Any) -> Any: ...

        def _pages(
            self, path: str, limit: int | None, cursor: str | None, **params: Any
        ) -> tuple[list[dict[str, Any]], str | None]: ...

    # -- workflows ---------------------------------------------------------------------------
    def block_workflow(self, project: str, name: str, reason: str) -> dict[str, Any]:
        """Refuse the workflow's new runs and pending pushes; Conflict if already blocked."""
        return dict(self._post(f"{_wf(project, name)}/block", {"reason": reason}))

    def unblock_workflow(
        self, project: str, name: str, reason: str | None = None
    ) -> dict[str, Any]:
        """Lift the workflow's own block; Conflict if it has none."""
        return dict(self._post(f"{_wf(project, name)}/unblock", {"reason": reason}))

    def update_workflow(self, project: str, name: str, **fields: Any) -> dict[str, Any]:
        """Change team, description or contract (fields left None are kept)."""
        body = {k: v for k, v in fields.items() if v is not None}
        reply = self._session.request("PATCH", f"/api/v1{_wf(project, name)}", json_body=body)
        return dict(reply.json())

    def rename_workflow(self, project: str, name: str, to: str) -> dict[str, Any]:
        """Rename within the project; Conflict if taken or while a run is in progress."""
        return dict(self._post(f"{_wf(project, name)}/rename", {"to": to}))

    def archive_workflow(self, project: str, name: str) -> dict[str, Any]:
        """Hide the workflow and refuse its new runs; its history is kept."""
        return dict(self._post(f"{_wf(project, name)}/archive", {}))

    def unarchive_workflow(self, project: str, name: str) -> dict[str, Any]:
        """Bring an archived workflow back."""
        return dict(self._post(f"{_wf(project, name)}/unarchive", {}))

    def delete_workflow(self, project: str, name: str) -> None:
        """Delete a workflow with no runs; Conflict (archive it instead) otherwise."""
        self._session.request("DELETE", f"/api/v1{_wf(project, name)}")

    # -- projects ----------------------------------------------------------------------------
    def get_project(self, name: str) -> dict[str, Any]:
        """One project with its block and workflow counts."""
        return dict(self._get(f"/projects/{_q(name)}"))

    def block_project(self, name: str, reason: str) -> dict[str, Any]:
        """Block every workflow of the project; Conflict if already blocked."""
        return dict(self._post(f"/projects/{_q(name)}/block", {"reason": reason}))

    def unblock_project(self, name: str, reason: str | None = None) -> dict[str, Any]:
        """Lift the project's block; Conflict if it has none."""
        return dict(self._post(f"/projects/{_q(name)}/unblock", {"reason": reason}))

    def rename_project(self, name: str, to: str) -> dict[str, Any]:
        """Rename; Conflict if taken or while one of its runs is in progress."""
        return dict(self._post(f"/projects/{_q(name)}/rename", {"to": to}))

    # -- audit log ---------------------------------------------------------------------------
    def list_audit_page(
        self,
        *,
        actor: str | None = None,
        resource: str | None = None,
        action: str | None = None,
        since: str | None = None,
        limit: int | None = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` events, newest first, from ``cursor`` on, and the next cursor."""
        filters = {"actor": actor, "resource": resource, "action": action, "since": since}
        return self._pages("/audit", limit, cursor, **filters)


def _wf(project: str, name: str) -> str:
    return f"/workflows/{_q(project)}/{_q(name)}"
