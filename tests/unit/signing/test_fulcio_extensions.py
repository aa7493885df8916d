"""Fulcio's extensions of a verified CI job's claims (signing/fulcio.py), as Fulcio's
gitlab-pipeline and github-workflow issuers write them; GitHub's are also read back by
sigstore-python in tests/integration/server/test_ci_identity.py."""

from __future__ import annotations

from chainproof.signing import fulcio

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
