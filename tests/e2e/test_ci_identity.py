"""A CI job with no stored secret (issue 17, workload identity): an admin trusts a GitHub
repository's release workflow with `ci-identity add`; the job runs `attestation init`, `add`
and `push` with no CHAINPROOF_TOKEN, its ID token fetched from the GitHub stand-in of
tests/oidc_provider.py and exchanged by the server; the run records the verified claims,
verifies locally, and its VSA says SLSA Build L2 (a verified job on a hosted runner). A job of
an unlisted repository is refused, naming the rule that failed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.e2e.conftest import Cli, Server, api_get
from tests.oidc_provider import OidcProvider, github_claims

RELEASE = "cyberdyne/skynet/.github/workflows/release.yml@refs/tags/*"


def _job(cli: Cli, idp: OidcProvider, state: Path, repository: str) -> Cli:
    """A GitHub Actions job of ``repository`` (id-token: write), without CHAINPROOF_TOKEN."""
    env = {k: v for k, v in cli.env.items() if k != "CHAINPROOF_TOKEN"}
    env.update(idp.github_env())
    env.update(
        CI="true",
        GITHUB_REPOSITORY=repository,
        GITHUB_RUN_ID="1234567890",
        RUNNER_ENVIRONMENT="github-hosted",
        CHAINPROOF_ORG="acme",
        CHAINPROOF_STATE_DIR=str(state),
    )
    return Cli(env=env, cwd=cli.cwd)


def test_a_job_attests_with_its_oidc_identity_and_an_unlisted_repository_is_refused(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    with OidcProvider() as idp:
        cli(
            "ci-identity", "add", "--name", "skynet-release", "--provider", "github",
            "--issuer", idp.issuer, "--project", "skynet", "--workflow", "release",
            "--rule", "repository == cyberdyne/skynet", "--rule", f"workflow_ref glob {RELEASE}",
        )  # fmt: skip
        listed = cli.json("ci-identity", "list")
        assert isinstance(listed, list)
        assert listed[0]["rules"][0] == "repository == cyberdyne/skynet"

        job = _job(cli, idp, tmp_path / "job", "cyberdyne/skynet")
        init = job("attestation", "init", "--workflow", "release", "--project", "skynet")
        assert "OIDC ID token" in init.stderr
        job("attestation", "add", "--name", "note", "--kind", "STRING", "--value", "built")
        pushed = job.json("attestation", "push")
        assert isinstance(pushed, dict) and pushed["status"] == "succeeded"
        assert not list((tmp_path / "job").glob("*.token.json"))  # the kept token is gone

        run = api_get(server, f"/runs/{pushed['id']}")
        claims = run["ci_identity"]["claims"]
        assert run["ci_identity"]["name"] == "skynet-release"
        assert claims["repository"] == "cyberdyne/skynet"
        assert claims["workflow_ref"] == f"{RELEASE[:-1]}v1.0.0"
        described = cli("workflow", "run", "describe", "--id", pushed["id"], "--verify")
        assert "skynet-release: cyberdyne/skynet @ " in described.stdout
        vsa = api_get(server, f"/runs/{pushed['id']}/vsa")  # a verified job, hosted runner
        summary = json.loads(base64.b64decode(vsa["dsseEnvelope"]["payload"]))
        assert summary["predicate"]["verifiedLevels"] == ["SLSA_BUILD_LEVEL_2"]

        idp.job_claims = github_claims("evil/skynet")
        fork = _job(cli, idp, tmp_path / "fork", "evil/skynet")
        refused = fork(
            "attestation", "init", "--workflow", "release", "--project", "skynet", check=False
        )
        assert refused.returncode == 3, refused.stderr
        assert "rule 'repository == cyberdyne/skynet' failed" in refused.stderr
        assert "'evil/skynet'" in refused.stderr
