"""``ApiClient`` calls of integrations: register, attach, deliveries, redeliver
(docs/integrations.md). Mixed into :class:`chainproof.client.http.ApiClient`, which provides
the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from chainproof.client.http import HttpSession


def _q(segment: str) -> str:
    return quote(segment, safe="")


class IntegrationCalls:
    """Integrations; every method raises a ChainproofError subclass."""

    if TYPE_CHECKING:
        _session: HttpSession

        def _get(self, path: str, **params: Any) -> Any: ...

        def _post(self, path: str, body: dict[str, Any], **kw: Any) -> Any: ...

    def integration_kinds(self) -> list[dict[str, Any]]:
        """The installed kinds with the JSON schema of their configuration."""
        return list(self._get("/integration-kinds"))

    def create_integration(
        self, kind: str, name: str, config: dict[str, Any], secret: str | None = None
    ) -> dict[str, Any]:
        """Register an integration (owner/admin); ``secret`` is sealed, never answered."""
        body = {"kind": kind, "name": name, "config": config, "secret": secret}
        return dict(self._post("/integrations", body))

    def list_integrations(self) -> list[dict[str, Any]]:
        return list(self._get("/integrations"))

    def describe_integration(self, name: str) -> dict[str, Any]:
        return dict(self._get(f"/integrations/{_q(name)}"))

    def remove_integration(self, name: str) -> None:
        self._session.request("DELETE", f"/api/v1/integrations/{_q(name)}")

    def attach_integration(
        self,
        name: str,
        *,
        project: str,
        workflow: str | None = None,
        events: list[str] | None = None,
        material_kinds: list[str] | None = None,
    ) -> dict[str, Any]:
        """Deliver a project's (or one workflow's) events, filtered (empty: all)."""
        body = {
            "project": project,
            "workflow": workflow,
            "events": events or [],
            "material_kinds": material_kinds or [],
        }
        return dict(self._post(f"/integrations/{_q(name)}/attach", body))

    def detach_integration(
        self, name: str, *, project: str, workflow: str | None = None
    ) -> dict[str, Any]:
        body = {"project": project, "workflow": workflow}
        return dict(self._post(f"/integrations/{_q(name)}/detach", body))

    def list_deliveries(self, name: str, limit: int = 50) -> list[dict[str, Any]]:
        """The integration's deliveries, newest first, with every attempt."""
        return list(self._get(f"/integrations/{_q(name)}/deliveries", limit=limit))

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        return dict(self._post(f"/deliveries/{_q(delivery_id)}/redeliver", {}))
