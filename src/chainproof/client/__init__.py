"""Typed client for the control plane API and the CAS: the CLI's only way out.

See docs/architecture.md §3.

- :mod:`chainproof.client.http` — ``ApiClient`` (one method per endpoint of docs/api.md),
  retries with backoff, every httpx exception mapped to ``NetworkError``.
- :mod:`chainproof.client.cas` — ``upload`` / ``download`` of blobs by digest.
- :mod:`chainproof.client.attestation` — the attestation use cases (init, add, status, push,
  reset) over a crafting state kept in a local file or by the control plane.
- :mod:`chainproof.client.verify_run` — verify a stored run locally.

Nothing is imported here, so that importing the package costs nothing (httpx is ~100 ms).
"""

__all__: list[str] = []
