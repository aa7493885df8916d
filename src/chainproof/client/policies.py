"""The organisation's stored policies for the CLI's PolicyLoader (``attestation add/push``).

The control plane evaluates stored policies authoritatively at push; the CLI evaluates the
same documents early, for fast feedback, by fetching them through the API::

    from chainproof.client.policies import policy_loader
    loader = policy_loader(api, base_dir=Path.cwd())      # both hooks wired
    # or, by hand:
    PolicyLoader(named=named_resolver(api), pinned=pinned_resolver(api))

A name the organisation does not store (404), or a built-in one (the API describes those
too, ``source: builtin``), gives None, so the loader reads its own built-in library. Any
other error (network, authorisation) propagates: falling back to a built-in of the same
name would evaluate a policy other than the one the server will.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainproof.errors import NotFound
from chainproof.policy.loader import NamedResolver, PinnedResolver, PolicyLoader

if TYPE_CHECKING:
    from chainproof.client.http import ApiClient

__all__ = ["named_resolver", "pinned_resolver", "policy_loader"]


def _stored(view: dict[str, Any]) -> tuple[bytes, str] | None:
    if view.get("source") != "org":
        return None
    return str(view["document"]).encode("utf-8"), str(view["uri"])


def named_resolver(api: ApiClient) -> NamedResolver:
    """``PolicyLoader(named=...)``: ``GET /api/v1/policies/{name}`` → (text, URI) of the
    latest revision, or None when the organisation stores no such policy."""

    def named(name: str) -> tuple[bytes, str] | None:
        try:
            return _stored(api.get_policy(name))
        except NotFound:
            return None

    return named


def pinned_resolver(api: ApiClient) -> PinnedResolver:
    """``PolicyLoader(pinned=...)``: ``GET /api/v1/policies/{name}?digest=sha256:<hex>`` →
    the revision with that digest, or None (the loader then reports the pin mismatch)."""

    def pinned(name: str, digest: str) -> tuple[bytes, str] | None:
        try:
            return _stored(api.get_policy(name, digest=f"sha256:{digest}"))
        except NotFound:
            return None

    return pinned


def policy_loader(api: ApiClient, **kwargs: Any) -> PolicyLoader:
    """A PolicyLoader resolving the organisation's stored documents through ``api``;
    ``kwargs`` go to PolicyLoader (``base_dir``, ``fetch``)."""
    return PolicyLoader(named=named_resolver(api), pinned=pinned_resolver(api), **kwargs)
