"""``ApiClient`` calls of workload identity: trusted CI issuers and the exchange of a CI
job's OIDC ID token (docs/ci-identity.md). Mixed into
:class:`chainproof.client.http.ApiClient`, which provides the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from chainproof.client.http import HttpSession


class CiIdentityCalls:
    """Trusted CI issuers; every method raises a ChainproofError subclass."""

    if TYPE_CHECKING:
        _session: HttpSession

        def _get(self, path: str, **params: Any) -> Any: ...

        def _post(self, path: str, body: dict[str, Any], **kw: Any) -> Any: ...

    def create_ci_identity(
        self,
        name: str,
        *,
        provider: str,
        project: str,
        workflow: str,
        rules: list[str],
        issuer: str | None = None,
        audience: str | None = None,
    ) -> dict[str, Any]:
        """Trust the jobs of a CI issuer whose claims satisfy every rule (owner/admin)."""
        body = {
            "name": name,
            "provider": provider,
            "project": project,
            "workflow": workflow,
            "rules": rules,
            "issuer": issuer,
            "audience": audience,
        }
        return dict(self._post("/ci-identities", body))

    def list_ci_identities(self) -> list[dict[str, Any]]:
        """The organisation's trusted CI issuers, by name."""
        return list(self._get("/ci-identities"))

    def remove_ci_identity(self, name: str) -> None:
        """Stop trusting a CI issuer registration."""
        self._session.request("DELETE", f"/api/v1/ci-identities/{quote(name, safe='')}")

    def exchange_id_token(
        self, org: str, id_token: str, run_id: str | None = None
    ) -> dict[str, Any]:
        """A short-lived token for the CI job ``id_token`` proves (no API token needed):
        ``{"token", "expires_at", "project", "workflow", "ci_identity", "run_id"}``. A later
        step of the job names the run it continues (``run_id``): the server exchanges an ID
        token only once, except again for the run its first exchange started."""
        body = {"org": org, "id_token": id_token}
        if run_id:
            body["run_id"] = run_id
        return dict(self._post("/ci-identities/exchange", body))
