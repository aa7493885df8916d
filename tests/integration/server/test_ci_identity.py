"""CI jobs authenticate with their OIDC ID token (issue 17, workload identity): trusted
issuers, the exchange and its refusals, the verified claims on the run. SQLite and
PostgreSQL; the issuer is tests/oidc_provider.py on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from sigstore.verify import policy as sigstore_policy
from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow
from tests.integration.server.test_slsa import HOSTED, _push, _verify
from tests.oidc_provider import OidcProvider, github_claims

from chainproof.core.bundle import Bundle

RELEASE = "cyberdyne/skynet/.github/workflows/release.yml@refs/tags/*"


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with OidcProvider() as provider:
        yield provider


def _register(env: Env, idp: OidcProvider, **overrides: Any) -> Any:
    body = {
        "name": "skynet-release",
        "provider": "github",
        "issuer": idp.issuer,
        "project": "skynet",
        "workflow": "release",
        "rules": ["repository == cyberdyne/skynet", f"workflow_ref glob {RELEASE}"],
        **overrides,
    }
    reply = env.post("/ci-identities", body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def _exchange(env: Env, id_token: str, org: str | None = None) -> Any:
    body = {"org": org or env.org["name"], "id_token": id_token}
    return env.client.post("/api/v1/ci-identities/exchange", json=body)


def test_a_trusted_job_gets_a_scoped_short_lived_token_and_its_run_records_the_claims(
    app_client: Env, idp: OidcProvider
) -> None:
    listed = _register(app_client, idp)
    assert listed["rules"] == ["repository == cyberdyne/skynet", f"workflow_ref glob {RELEASE}"]
    assert [i["name"] for i in app_client.get("/ci-identities").json()] == ["skynet-release"]

    reply = _exchange(app_client, idp.mint(github_claims("cyberdyne/skynet")))
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["project"], answer["workflow"]) == ("skynet", "release")
    assert answer["expires_at"] is not None
    token = answer["token"]

    who = app_client.get("/whoami", token=token).json()["token"]
    assert (who["kind"], who["project"], who["workflow"]) == ("robot", "skynet", "release")
    run = init_run(app_client, token=token, project="skynet", workflow="release")
    assert run.status_code == 201, run.text
    described = app_client.get(f"/runs/{run.json()['run']['id']}").json()
    identity = described["ci_identity"]
    assert (identity["name"], identity["issuer"]) == ("skynet-release", idp.issuer)
    assert identity["claims"]["repository"] == "cyberdyne/skynet"
    assert identity["claims"]["workflow_ref"].endswith("@refs/tags/v1.0.0")
    # Scoped: the token starts no run of another workflow.
    other = init_run(app_client, token=token, project="skynet", workflow="nightly")
    assert other.status_code == 403, other.text
    # A stored-token run records no CI identity.
    plain = init_run(app_client, project="skynet", workflow="release").json()
    assert app_client.get(f"/runs/{plain['run']['id']}").json()["ci_identity"] is None


def test_a_job_of_another_repository_or_ref_is_refused_naming_the_rule(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    fork = _exchange(app_client, idp.mint(github_claims("evil/skynet")))
    assert fork.status_code == 403, fork.text
    detail = fork.json()["detail"]
    assert "rule 'repository == cyberdyne/skynet' failed" in detail
    assert "'evil/skynet'" in detail

    branch = github_claims("cyberdyne/skynet", ref="refs/heads/main")
    refused = _exchange(app_client, idp.mint(branch))
    assert refused.status_code == 403, refused.text
    assert f"rule 'workflow_ref glob {RELEASE}' failed" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("mint", "message"),
    [
        (lambda idp: idp.mint(github_claims("cyberdyne/skynet"), expires_in=-120), "expired"),
        (
            lambda idp: idp.mint(github_claims("cyberdyne/skynet"), audience="someone-else"),
            "audience",
        ),
        (
            lambda idp: idp.mint(github_claims("cyberdyne/skynet"), issuer="https://evil.example"),
            "is not a trusted CI issuer",
        ),
    ],
    ids=["expired", "wrong-audience", "unknown-issuer"],
)
def test_an_invalid_id_token_is_unauthorised(
    app_client: Env, idp: OidcProvider, mint: Any, message: str
) -> None:
    _register(app_client, idp)
    reply = _exchange(app_client, mint(idp))
    assert reply.status_code == 401, reply.text
    assert message in reply.json()["detail"]


def test_rotated_keys_are_refetched_and_a_forged_key_is_refused(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    claims = github_claims("cyberdyne/skynet")
    assert _exchange(app_client, idp.mint(claims)).status_code == 200
    assert _exchange(app_client, idp.mint(claims)).status_code == 200
    assert idp.jwks_fetches == 1  # cached

    idp.rotate()  # the issuer replaces its key: the server refetches on the unknown kid
    assert _exchange(app_client, idp.mint(claims)).status_code == 200
    assert idp.jwks_fetches == 2

    with OidcProvider() as forger:  # same claims and issuer, a key the issuer never published
        forged = forger.mint(claims, issuer=idp.issuer)
    reply = _exchange(app_client, forged)
    assert reply.status_code == 401, reply.text
    assert "does not publish" in reply.json()["detail"]


def test_the_exchange_needs_the_registering_organisation(
    app_client: Env, idp: OidcProvider
) -> None:
    _register(app_client, idp)
    other = app_client.new_org()
    token = idp.mint(github_claims("cyberdyne/skynet"))
    reply = _exchange(app_client, token, org=other.org["name"])
    assert reply.status_code == 401, reply.text
    assert "is not a trusted CI issuer" in reply.json()["detail"]


def test_registrations_are_checked_and_removable_by_admins_only(
    app_client: Env, idp: OidcProvider
) -> None:
    loose = app_client.post(
        "/ci-identities",
        {
            "name": "any-repo",
            "provider": "github",
            "project": "p",
            "workflow": "w",
            "rules": ["ref glob refs/tags/*"],
        },
    )
    assert loose.status_code == 400
    assert "exact (==) rule on one of" in loose.json()["detail"]
    plain_http = app_client.post(
        "/ci-identities",
        {
            "name": "remote",
            "provider": "oidc",
            "issuer": "http://idp.example",
            "project": "p",
            "workflow": "w",
            "rules": ["sub == job"],
        },
    )
    assert plain_http.status_code == 400
    _register(app_client, idp)
    robot = app_client.robot()
    assert app_client.delete("/ci-identities/skynet-release", token=robot).status_code == 403
    assert app_client.delete("/ci-identities/skynet-release").status_code == 204
    assert app_client.get("/ci-identities").json() == []
    reply = _exchange(app_client, idp.mint(github_claims("cyberdyne/skynet")))
    assert reply.status_code == 401


@pytest.mark.parametrize(
    ("runner_environment", "signer", "level"),
    [("github-hosted", "job", 2), ("self-hosted", "job", 1), ("github-hosted", "owner", 1)],
)
def test_the_job_signs_under_its_verified_identity_and_a_hosted_one_earns_build_l2(
    app_client: Env, idp: OidcProvider, runner_environment: str, signer: str, level: int
) -> None:
    setup_workflow(app_client, contract="contract-artifact.yaml")  # p/build
    _register(app_client, idp, project="p", workflow="build")
    claims = {**github_claims("cyberdyne/skynet"), "runner_environment": runner_environment}
    token = _exchange(app_client, idp.mint(claims)).json()["token"]
    runner = {**HOSTED, "environment": "managed", "env": {}}
    init = init_run(app_client, token=token, runner=runner).json()
    run = _push(app_client, init, token=token if signer == "job" else None)

    bundle = Bundle.from_json(app_client.get(f"/runs/{run['id']}/bundle").json())
    assert bundle.leaf_certificate_der is not None
    leaf = x509.load_der_x509_certificate(bundle.leaf_certificate_der)
    # sigstore-python's identity policies read Fulcio's extensions of the job's claims.
    job_policy = sigstore_policy.AllOf(
        [
            sigstore_policy.OIDCIssuerV2(idp.issuer),
            sigstore_policy.OIDCSourceRepositoryURI("https://github.com/cyberdyne/skynet"),
            sigstore_policy.GitHubWorkflowRepository("cyberdyne/skynet"),
            sigstore_policy.OIDCSourceRepositoryRef("refs/tags/v1.0.0"),
            sigstore_policy.OIDCBuildConfigURI(f"https://github.com/{RELEASE[:-1]}v1.0.0"),
            sigstore_policy.OIDCRunnerEnvironment(runner_environment),
        ]
    )
    if signer == "job":
        job_policy.verify(leaf)
        with pytest.raises(sigstore_policy.VerificationError):
            sigstore_policy.OIDCSourceRepositoryURI("https://github.com/evil/skynet").verify(leaf)
    else:  # another token of the organisation never signs under the job's name
        with pytest.raises(sigstore_policy.VerificationError):
            job_policy.verify(leaf)

    vsa = _verify(app_client, app_client.get(f"/runs/{run['id']}/vsa").json())
    assert vsa.statement.predicate["verifiedLevels"] == [f"SLSA_BUILD_LEVEL_{level}"]
