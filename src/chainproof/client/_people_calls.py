"""``ApiClient`` calls about people (docs/identity.md): sign-in sessions, organisation
members and invitations. Mixed into :class:`chainproof.client.http.ApiClient`, which provides
the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from chainproof.client.http import HttpSession


class PeopleCalls:
    """Sessions, members, invitations; every method raises a ChainproofError subclass."""

    if TYPE_CHECKING:
        _session: HttpSession

        def _get(self, path: str, **params: Any) -> Any: ...

        def _post(self, path: str, body: dict[str, Any], **kw: Any) -> Any: ...

    def identity_providers(self) -> list[dict[str, Any]]:
        """The providers people sign in with: ``[{"name", "issuer", "client_id"}]``."""
        return list(self._get("/auth/providers"))

    def create_session(self, id_token: str) -> dict[str, Any]:
        """A session for a provider's ID token (no API token needed):
        ``{"token", "expires_at", "user", "joined"}``."""
        return dict(self._post("/auth/sessions", {"id_token": id_token}))

    def describe_session(self) -> dict[str, Any]:
        """The signed-in person, the session and their organisations with roles."""
        return dict(self._get("/auth/session"))

    def sign_out(self) -> None:
        """Revoke the session the client authenticates with."""
        self._session.request("DELETE", "/api/v1/auth/session")

    def create_personal_token(
        self, name: str, *, role: str | None = None, expires_in_seconds: int | None = None
    ) -> dict[str, Any]:
        """A token of the signed-in person; the answer's ``token`` is the secret."""
        body = {"name": name, "role": role, "expires_in_seconds": expires_in_seconds}
        return dict(self._post("/tokens/personal", body))

    def list_personal_tokens(self) -> list[dict[str, Any]]:
        """The signed-in person's own tokens (no secrets)."""
        return list(self._get("/tokens/personal"))

    def list_members(self) -> list[dict[str, Any]]:
        """The organisation's members and their roles."""
        return list(self._get("/org/members"))

    def update_member(self, member: str, role: str) -> dict[str, Any]:
        """Give a member (user id or email) another role."""
        path = f"/api/v1/org/members/{quote(member, safe='')}"
        return dict(self._session.request("PATCH", path, json_body={"role": role}).json())

    def remove_member(self, member: str) -> None:
        """Remove a member (user id or email) from the organisation."""
        self._session.request("DELETE", f"/api/v1/org/members/{quote(member, safe='')}")

    def list_project_members(self, project: str) -> list[dict[str, Any]]:
        """Who holds a role (admin, viewer) in ``project``."""
        return list(self._get(f"/projects/{quote(project, safe='')}/members"))

    def set_project_member(self, project: str, member: str, role: str) -> dict[str, Any]:
        """Give an organisation member (user id or email) ``role`` in ``project``."""
        path = f"/api/v1/projects/{quote(project, safe='')}/members/{quote(member, safe='')}"
        return dict(self._session.request("PUT", path, json_body={"role": role}).json())

    def remove_project_member(self, project: str, member: str) -> None:
        """Take a person's role in ``project`` away."""
        path = f"/api/v1/projects/{quote(project, safe='')}/members/{quote(member, safe='')}"
        self._session.request("DELETE", path)

    def create_invitation(self, email: str, role: str) -> dict[str, Any]:
        """Invite an email address with a role."""
        return dict(self._post("/org/invitations", {"email": email, "role": role}))

    def list_invitations(self) -> list[dict[str, Any]]:
        """Pending invitations."""
        return list(self._get("/org/invitations"))

    def revoke_invitation(self, invitation_id: str) -> None:
        """Withdraw a pending invitation."""
        self._session.request("DELETE", f"/api/v1/org/invitations/{quote(invitation_id, safe='')}")
