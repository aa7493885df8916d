"""Attestation commands without ``CHAINPROOF_TOKEN``: the CI job's OIDC ID token is exchanged
for a short-lived token (docs/ci-identity.md); the logic lives in ``client.ci_identity``."""

from __future__ import annotations

from pathlib import Path

from chainproof.cli._common import CliContext, info


def use_ci_identity(
    cli: CliContext,
    state_file: Path,
    server_url: str | None,
    audience: str | None = None,
    run_id: str | None = None,
) -> None:
    """Give ``cli`` a token for this CI job when it has none; leave it alone otherwise (the
    usual "no API token" error follows outside CI). ``run_id``: the run a later step
    continues (the server re-exchanges an ID token only for its own run)."""
    if cli.token:
        return
    url = cli.url or server_url
    if not url:
        return
    from chainproof.client import ci_identity

    token = ci_identity.ci_token(
        state_file,
        cli.environ,
        url=url,
        org=cli.org,
        audience=audience,
        run_id=run_id,
        transport=cli.transport,
        timeout=cli.timeout,
    )
    if token:
        cli.token = token
        cli.close()  # a client built before (without the token) is rebuilt with it
        info("Authenticated with the CI job's OIDC ID token (no stored API token).")


def forget_ci_identity(cli: CliContext, state_file: Path) -> None:
    """The attestation is over or replaced: let go of the exchanged token kept for its steps
    (kept for the job's next attestation when the job's one ID token was given to it)."""
    from chainproof.client import ci_identity

    ci_identity.release(state_file, cli.environ)
