"""A CI job with no stored secret (issue 17, workload identity): an admin trusts a GitHub
repository's release workflow with `ci-identity add`; the job runs `attestation init`, `add`
and `push` with no CHAINPROOF_TOKEN, its ID token fetched from the GitHub stand-in of
tests/oidc_provider.py and exchanged by the server; the run records the verified claims,
verifies locally, and its VSA says SLSA Build L2 (a verified job on a hosted runner). A job of
an unlisted repository is refused, naming the rule that failed. sigstore-python verifies such a
job's bundle (chain, SCT, log entry) under the organisation's trusted root with an identity
policy on the repository: Fulcio's extensions hold the job's verified claims. The ready-made
GitHub action (action.yml) and GitLab template (ci/gitlab/chainproof.yml) are run step by step
the way their CI systems run them (tests/ci_templates.py)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from tests.ci_templates import run_github_action, run_gitlab_job
from tests.e2e.conftest import Cli, Server, api_get
from tests.oidc_provider import OidcProvider, github_claims, gitlab_claims

ROOT = Path(__file__).resolve().parents[2]
SBOM = ROOT / "tests" / "assets" / "materials" / "cyclonedx-1.6.json"

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SKYNET = "https://github.com/cyberdyne/skynet"
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


def _sigstore_verify(bundle: Path, root: Path, issuer: str, repository: str) -> bytes:
    """sigstore-python's full verification of ``bundle`` under ``root`` with an identity
    policy on the job's issuer and repository (Fulcio's extensions); the DSSE payload."""
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.models import TrustedRoot as SigstoreRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import (
        AllOf,
        GitHubWorkflowRepository,
        OIDCIssuerV2,
        OIDCSourceRepositoryURI,
    )

    by_repository = AllOf(
        [
            OIDCIssuerV2(issuer),
            OIDCSourceRepositoryURI(f"https://github.com/{repository}"),
            GitHubWorkflowRepository(repository),  # the deprecated one, read by older tools
        ]
    )
    verifier = Verifier(trusted_root=SigstoreRoot.from_file(str(root)))
    payload_type, payload = verifier.verify_dsse(
        SigstoreBundle.from_json(bundle.read_text()), by_repository
    )
    assert payload_type == "application/vnd.in-toto+json"
    return payload


def test_sigstore_python_verifies_the_jobs_bundle_by_its_repository(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    from sigstore.errors import VerificationError as SigstoreVerificationError

    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(api_get(server, "/trust/root")))
    bundle = tmp_path / "bundle.json"
    with OidcProvider() as idp:
        cli(
            "ci-identity", "add", "--name", "skynet-signed", "--provider", "github",
            "--issuer", idp.issuer, "--project", "skynet", "--workflow", "signed",
            "--rule", "repository == cyberdyne/skynet",
        )  # fmt: skip
        job = _job(cli, idp, tmp_path / "job", "cyberdyne/skynet")
        job("attestation", "init", "--workflow", "signed", "--project", "skynet")
        job("attestation", "add", "--name", "note", "--kind", "STRING", "--value", "built")
        pushed = job.json("attestation", "push", "--bundle", str(bundle))
        assert isinstance(pushed, dict) and pushed["status"] == "succeeded"

        payload = _sigstore_verify(bundle, root, idp.issuer, "cyberdyne/skynet")
        assert json.loads(payload)["predicate"]["workflow"]["runID"] == pushed["id"]
        # The same policy naming another repository refuses it, as does GitHub's issuer: the
        # certificate names the issuer that signed the job's ID token (here the stand-in).
        for other in ("cyberdyne/other", "evil/skynet"):
            expected = rf"OIDCSourceRepositoryURI does not match \(got {re.escape(SKYNET)}, "
            with pytest.raises(SigstoreVerificationError, match=expected):
                _sigstore_verify(bundle, root, idp.issuer, other)
        with pytest.raises(SigstoreVerificationError, match="OIDCIssuerV2 does not match"):
            _sigstore_verify(bundle, root, GITHUB_ISSUER, "cyberdyne/skynet")


def _materials(run: dict[str, object]) -> dict[str, str]:
    materials = run["materials"]
    assert isinstance(materials, list)
    return {m["name"]: m["kind"] for m in materials}


def test_the_github_action_and_the_gitlab_template_attest_with_no_stored_token(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    # The CI systems' environments: the CLI on PATH, no token, no state dir of ours.
    path = f"{Path(sys.executable).parent}{os.pathsep}{cli.env['PATH']}"
    env = {k: v for k, v in cli.env.items() if not k.startswith("CHAINPROOF_")}
    env.update(PATH=path, CI="true")
    gh, gl = tmp_path / "github", tmp_path / "gitlab"
    for workdir in (gh, gl):
        workdir.mkdir()
        shutil.copy(SBOM, workdir / "sbom.cdx.json")
    with OidcProvider() as idp:
        cli(
            "ci-identity", "add", "--name", "skynet-build", "--provider", "github",
            "--issuer", idp.issuer, "--project", "skynet", "--workflow", "build",
            "--rule", "repository == cyberdyne/skynet",
            "--rule", "workflow_ref glob cyberdyne/skynet/.github/workflows/build.yml@refs/heads/*",
        )  # fmt: skip
        cli(
            "ci-identity", "add", "--name", "skynet-gitlab", "--provider", "gitlab",
            "--issuer", idp.issuer, "--project", "skynet", "--workflow", "gitlab-build",
            "--rule", "project_path == cyberdyne/skynet",
        )  # fmt: skip
        idp.job_claims = github_claims(
            "cyberdyne/skynet", workflow=".github/workflows/build.yml", ref="refs/heads/main"
        )
        inputs = {
            "server-url": server.url, "org": "acme", "project": "skynet", "workflow": "build",
            "version": "v2.0.0", "materials": "note:STRING=built by the action\nsbom.cdx.json\n",
            "annotations": "ticket=REL-7", "install": "false",
        }  # fmt: skip
        github_env = {**env, **idp.github_env(), "GITHUB_REPOSITORY": "cyberdyne/skynet"}
        outputs = run_github_action(ROOT / "action.yml", inputs, github_env, gh)
        run = api_get(server, f"/runs/{outputs['run-id']}")
        assert run["status"] == "succeeded", run
        assert run["ci_identity"]["name"] == "skynet-build"
        assert _materials(run) == {
            "note": "STRING",
            "sbom": "SBOM_CYCLONEDX_JSON",
        }  # fills the slot
        assert run["project_version"] == "v2.0.0"
        statement = api_get(server, f"/runs/{outputs['run-id']}/statement")
        assert statement["predicate"]["annotations"]["ticket"] == "REL-7"

        job = {
            "extends": ".chainproof-attest",
            "variables": {
                "CHAINPROOF_URL": server.url, "CHAINPROOF_ORG": "acme",
                "CHAINPROOF_PROJECT": "skynet", "CHAINPROOF_WORKFLOW": "gitlab-build",
                "CHAINPROOF_MATERIALS": "sbom:SBOM_CYCLONEDX_JSON=sbom.cdx.json",
            },
        }  # fmt: skip
        claims = gitlab_claims("cyberdyne/skynet")
        done = run_gitlab_job(
            ROOT / "ci" / "gitlab" / "chainproof.yml", job, {**env, "GITLAB_CI": "true"}, gl,
            mint=lambda audience: idp.mint(claims, audience=audience),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (listed,) = cli.json("workflow", "run", "list", "--workflow", "gitlab-build")
        run = api_get(server, f"/runs/{listed['id']}")
        assert run["ci_identity"]["claims"]["project_path"] == "cyberdyne/skynet"
        assert _materials(run) == {"sbom": "SBOM_CYCLONEDX_JSON"}


def test_one_gitlab_id_token_serves_its_run_across_steps_and_is_refused_for_another_run(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    """GitLab gives a job one ID token: steps with --remote-state that kept no exchanged token
    (another container: another state dir) exchange it again for their run; where the
    exchanged token is kept, the job attests again with it; the same ID token exchanged to
    start another run is a replay (docs/ci-identity.md, "Replays")."""
    with OidcProvider() as idp:
        cli(
            "ci-identity", "add", "--name", "skynet-remote", "--provider", "gitlab",
            "--issuer", idp.issuer, "--project", "skynet", "--workflow", "remote",
            "--rule", "project_path == cyberdyne/skynet",
        )  # fmt: skip
        env = {k: v for k, v in cli.env.items() if k != "CHAINPROOF_TOKEN"}
        env.update(
            CHAINPROOF_ID_TOKEN=idp.mint(gitlab_claims("cyberdyne/skynet")),
            CHAINPROOF_ORG="acme",
        )

        def step(name: str) -> Cli:
            return Cli(env={**env, "CHAINPROOF_STATE_DIR": str(tmp_path / name)}, cwd=cli.cwd)

        init = step("init")(
            "attestation", "init", "--workflow", "remote", "--project", "skynet", "--remote-state"
        )
        run_id = init.stderr.split("Attestation ID: ", 1)[1].split()[0]
        step("add")(
            "attestation", "add", "--attestation-id", run_id,
            "--name", "note", "--kind", "STRING", "--value", "built",
        )  # fmt: skip
        pushed = step("push").json("attestation", "push", "--attestation-id", run_id)
        assert isinstance(pushed, dict)
        assert (pushed["id"], pushed["status"]) == (run_id, "succeeded")
        run = api_get(server, f"/runs/{run_id}")
        assert run["ci_identity"]["name"] == "skynet-remote"

        # The job's next attestation, where init kept the exchanged token: no new exchange.
        first = step("init")
        first("attestation", "init", "--workflow", "remote", "--project", "skynet")
        first("attestation", "add", "--name", "note", "--kind", "STRING", "--value", "again")
        second = first.json("attestation", "push")
        assert isinstance(second, dict) and second["status"] == "succeeded"
        assert second["id"] != run_id
        assert list((tmp_path / "init").glob("*.token.json"))  # kept for the job's next one

        again = step("again")(
            "attestation", "init", "--workflow", "remote", "--project", "skynet", check=False
        )
        assert again.returncode == 3, again.stderr
        assert "this ID token was already exchanged" in again.stderr
