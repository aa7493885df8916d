"""Fulcio's extensions of a verified CI job's claims (signing/fulcio.py), as Fulcio's
gitlab-pipeline and github-workflow issuers write them. Every one the CA writes for a GitHub job
is one of sigstore-python's identity policies, in the encoding that policy reads; a whole job's
bundle is verified by sigstore-python in tests/e2e/test_ci_identity.py."""

from __future__ import annotations

import pytest
from cryptography import x509
from sigstore.errors import VerificationError
from sigstore.verify import policy

from chainproof.signing import fulcio
from chainproof.signing.ca import CertificateAuthority, identity_uri
from chainproof.signing.signer import EphemeralSigner

ARC = "1.3.6.1.4.1.57264.1"

GITLAB = {
    "project_path": "cyberdyne/skynet",
    "project_id": "42",
    "namespace_path": "cyberdyne",
    "namespace_id": "7",
    "ref": "v1.0.0",
    "ref_type": "tag",
    "sha": "ab" * 20,
    "ci_config_ref_uri": "gitlab.com/cyberdyne/skynet//.gitlab-ci.yml@refs/tags/v1.0.0",
    "ci_config_sha": "cd" * 20,
    "pipeline_source": "push",
    "runner_environment": "gitlab-hosted",
    "job_id": "99",
    "project_visibility": "private",
}


def test_gitlab_claims_map_as_fulcio_maps_them() -> None:
    out = fulcio.extensions("gitlab", "https://gitlab.com/", GITLAB)
    assert out[f"{ARC}.12"] == "https://gitlab.com/cyberdyne/skynet"
    assert out[f"{ARC}.14"] == "refs/tags/v1.0.0"
    assert out[f"{ARC}.16"] == "https://gitlab.com/cyberdyne"
    expected_config = "https://gitlab.com/cyberdyne/skynet//.gitlab-ci.yml@refs/tags/v1.0.0"
    assert out[f"{ARC}.9"] == out[f"{ARC}.18"] == expected_config
    assert out[f"{ARC}.21"] == "https://gitlab.com/cyberdyne/skynet/-/jobs/99"
    assert (out[f"{ARC}.11"], out[f"{ARC}.20"]) == ("gitlab-hosted", "push")
    assert not fulcio.RAW & out.keys()  # GitLab has no deprecated raw extensions


def test_missing_claims_leave_their_extension_out_and_generic_issuers_map_nothing() -> None:
    out = fulcio.extensions("github", "https://token.actions.githubusercontent.com", {"sha": "1"})
    assert out == {f"{ARC}.3": "1", f"{ARC}.13": "1"}
    assert fulcio.extensions("oidc", "https://idp.example", GITLAB) == {}


GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
WORKFLOW_REF = "cyberdyne/skynet/.github/workflows/release.yml@refs/tags/v1.0.0"
GITHUB = {
    "repository": "cyberdyne/skynet",
    "repository_id": "101",
    "repository_owner": "cyberdyne",
    "repository_owner_id": "7",
    "workflow": "release",
    "workflow_ref": WORKFLOW_REF,
    "workflow_sha": "cd" * 20,
    "job_workflow_ref": WORKFLOW_REF,
    "job_workflow_sha": "ef" * 20,
    "ref": "refs/tags/v1.0.0",
    "sha": "ab" * 20,
    "event_name": "push",
    "run_id": "99",
    "run_attempt": "2",
    "runner_environment": "github-hosted",
    "repository_visibility": "public",
}
SIGSTORE_POLICIES = [
    policy.OIDCIssuer(GITHUB_ISSUER),
    policy.OIDCIssuerV2(GITHUB_ISSUER),
    policy.GitHubWorkflowTrigger("push"),
    policy.GitHubWorkflowSHA("ab" * 20),
    policy.GitHubWorkflowName("release"),
    policy.GitHubWorkflowRepository("cyberdyne/skynet"),
    policy.GitHubWorkflowRef("refs/tags/v1.0.0"),
    policy.OIDCBuildSignerURI(f"https://github.com/{WORKFLOW_REF}"),
    policy.OIDCBuildSignerDigest("ef" * 20),
    policy.OIDCRunnerEnvironment("github-hosted"),
    policy.OIDCSourceRepositoryURI("https://github.com/cyberdyne/skynet"),
    policy.OIDCSourceRepositoryDigest("ab" * 20),
    policy.OIDCSourceRepositoryRef("refs/tags/v1.0.0"),
    policy.OIDCSourceRepositoryIdentifier("101"),
    policy.OIDCSourceRepositoryOwnerURI("https://github.com/cyberdyne"),
    policy.OIDCSourceRepositoryOwnerIdentifier("7"),
    policy.OIDCBuildConfigURI(f"https://github.com/{WORKFLOW_REF}"),
    policy.OIDCBuildConfigDigest("cd" * 20),
    policy.OIDCBuildTrigger("push"),
    policy.OIDCRunInvocationURI("https://github.com/cyberdyne/skynet/actions/runs/99/attempts/2"),
    policy.OIDCSourceRepositoryVisibility("public"),
]


def test_every_github_extension_is_one_sigstore_python_reads_in_its_encoding() -> None:
    uri = identity_uri("acme", "skynet", "release", "run-1")
    extensions = fulcio.extensions("github", GITHUB_ISSUER, GITHUB)
    leaf_pem, _ = CertificateAuthority.create("acme").issue(
        EphemeralSigner().csr(uri), identity_uri=uri, issuer=GITHUB_ISSUER, extensions=extensions
    )
    leaf = x509.load_pem_x509_certificate(leaf_pem)
    written = {e.oid.dotted_string for e in leaf.extensions if e.oid.dotted_string.startswith(ARC)}
    assert written == {p.oid.dotted_string for p in SIGSTORE_POLICIES}  # no OID it cannot read
    policy.AllOf(list(SIGSTORE_POLICIES)).verify(leaf)  # each value, in its encoding
    with pytest.raises(VerificationError, match=r"got https://github\.com/cyberdyne/skynet,"):
        policy.OIDCSourceRepositoryURI("https://github.com/evil/skynet").verify(leaf)
