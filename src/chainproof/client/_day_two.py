"""``ApiClient`` calls of day-two operations: drift findings and a workflow's cadence,
project versions and their release (docs/api.md). Mixed into
:class:`chainproof.client.http.ApiClient`, which provides the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from chainproof.client.http import HttpSession


def _q(segment: str) -> str:
    return quote(segment, safe="")


class DayTwoCalls:
    """Findings and project versions; every method raises a ChainproofError subclass."""

    if TYPE_CHECKING:
        _session: HttpSession

        def _get(self, path: str, **params: Any) -> Any: ...

        def _post(self, path: str, body: dict[str, Any], **kw: Any) -> Any: ...

        def _pages(
            self, path: str, limit: int | None, cursor: str | None, **params: Any
        ) -> tuple[list[dict[str, Any]], str | None]: ...

    # -- drift findings ----------------------------------------------------------------------
    def list_findings(
        self,
        *,
        kind: str | None = None,
        workflow: str | None = None,
        project: str | None = None,
        status: str = "open",
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Findings, newest first (``status``: open, closed or all), up to ``limit``."""
        filters = {"kind": kind, "workflow": workflow, "project": project, "status": status}
        return self._pages("/findings", limit, None, **filters)[0]

    def list_findings_page(
        self,
        *,
        kind: str | None = None,
        workflow: str | None = None,
        project: str | None = None,
        status: str = "open",
        limit: int | None = 200,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` findings, newest first, from ``cursor`` on, and the cursor of the
        next page (None on the last one)."""
        filters = {"kind": kind, "workflow": workflow, "project": project, "status": status}
        return self._pages("/findings", limit, cursor, **filters)

    def acknowledge_finding(self, finding_id: str, reason: str) -> dict[str, Any]:
        """Accept an open finding, saying why."""
        return dict(self._post(f"/findings/{_q(finding_id)}/acknowledge", {"reason": reason}))

    def set_cadence(self, project: str, workflow: str, seconds: int | None) -> dict[str, Any]:
        """Set (None: unset) how long a workflow may go without a run."""
        path = f"/api/v1/workflows/{_q(project)}/{_q(workflow)}/cadence"
        body = {"cadence_seconds": seconds}
        return dict(self._session.request("PUT", path, json_body=body).json())

    # -- project versions --------------------------------------------------------------------
    def list_versions_page(
        self, project: str, *, limit: int | None = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` versions of the project, newest first, from ``cursor`` on, and
        the cursor of the next page: prerelease or released, runs and compliance."""
        return self._pages(f"/projects/{_q(project)}/versions", limit, cursor)

    def release_version(self, project: str, version: str) -> dict[str, Any]:
        """Release a project version (owner/admin); Conflict if it already is."""
        path = f"/projects/{_q(project)}/versions/{_q(version)}/release"
        return dict(self._post(path, {}))

    # -- discover and component search (docs/discover.md) -------------------------------------
    def discover(self, digest: str, depth: int = 1) -> dict[str, Any]:
        """The runs whose attestations name ``digest``, and what else they name, to ``depth``."""
        return dict(self._get(f"/discover/{_q(digest)}", depth=depth))

    def search_components_page(
        self,
        *,
        purl: str | None = None,
        name: str | None = None,
        version: str | None = None,
        license: str | None = None,
        latest: bool = False,
        limit: int | None = 200,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` matching components (newest run first) from ``cursor`` on, and the
        cursor of the next page (None on the last one)."""
        filters: dict[str, Any] = {"purl": purl, "name": name, "version": version}
        filters.update({"license": license, "latest": "true" if latest else None})
        return self._pages("/components", limit, cursor, **filters)

    def import_chainloop(self, bundle: dict[str, Any], ca_pems: list[str]) -> dict[str, Any]:
        """Record one Chainloop bundle, verified against ``ca_pems``: ``{"run", "created",
        "materials"}`` (``created`` False when an earlier import recorded it)."""
        body = {"bundle": bundle, "ca_certificates": ca_pems}
        return dict(self._post("/imports/chainloop", body))
