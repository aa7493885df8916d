"""PR_INFO and RUNNER_CONTEXT: collecting them from a CI environment, and the two kinds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chainproof.core import materials
from chainproof.core.materials.pr_info import PrInfoHandler
from chainproof.core.materials.runner_context import RunnerContextHandler
from chainproof.core.runners import RunnerContext, context_document, discover
from chainproof.core.runners.pr_info import MAX_DESCRIPTION, pull_request_info
from chainproof.errors import MaterialError

SHA = "5" * 40
GITHUB_EVENT = {
    "action": "synchronize",
    "number": 42,
    "pull_request": {
        "number": 42,
        "html_url": "https://github.com/acme/shop/pull/42",
        "title": "Bump the base image",
        "body": "Fixes CVE-2024-0001.",
        "draft": False,
        "user": {"login": "octocat"},
        "head": {"ref": "bump-base", "sha": SHA},
        "base": {"ref": "main", "sha": "6" * 40},
        "requested_reviewers": [{"login": "hubot"}, {"login": "monalisa"}, {"login": "hubot"}],
    },
}


def github_env(tmp_path: Path, event: dict[str, Any], name: str = "pull_request") -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "7",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(path),
    }


GITLAB_MR_ENV = {
    "GITLAB_CI": "true",
    "CI_MERGE_REQUEST_IID": "17",
    "CI_MERGE_REQUEST_TITLE": "Draft: add SBOM",
    "CI_MERGE_REQUEST_DESCRIPTION": "adds the SBOM step",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "sbom",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.example.com/acme/shop/",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": SHA,
    "CI_MERGE_REQUEST_ASSIGNEES": "alice, bob",
    "CI_MERGE_REQUEST_DRAFT": "true",
    "GITLAB_USER_LOGIN": "carol",
}


# --- collecting PR_INFO ---------------------------------------------------------------------


def test_github_pull_request_from_the_event_payload(tmp_path: Path) -> None:
    assert pull_request_info(github_env(tmp_path, GITHUB_EVENT)) == {
        "schema_version": "1",
        "platform": "github",
        "type": "pull_request",
        "number": "42",
        "url": "https://github.com/acme/shop/pull/42",
        "title": "Bump the base image",
        "description": "Fixes CVE-2024-0001.",
        "source_branch": "bump-base",
        "target_branch": "main",
        "head_sha": SHA,
        "author": "octocat",
        "reviewers": ["hubot", "monalisa"],
        "draft": False,
    }


def test_pull_request_target_counts_and_push_events_do_not(tmp_path: Path) -> None:
    assert pull_request_info(github_env(tmp_path, GITHUB_EVENT, "pull_request_target"))
    assert pull_request_info(github_env(tmp_path, {"ref": "refs/heads/main"}, "push")) is None


@pytest.mark.parametrize("event", [{}, {"pull_request": {"number": 1}}, {"pull_request": None}])
def test_a_malformed_github_payload_yields_nothing(tmp_path: Path, event: Any) -> None:
    assert pull_request_info(github_env(tmp_path, event)) is None


def test_a_missing_github_payload_yields_nothing(tmp_path: Path) -> None:
    env = github_env(tmp_path, GITHUB_EVENT)
    env["GITHUB_EVENT_PATH"] = str(tmp_path / "gone.json")
    assert pull_request_info(env) is None


def test_a_long_description_is_cut(tmp_path: Path) -> None:
    event = json.loads(json.dumps(GITHUB_EVENT))
    event["pull_request"]["body"] = "x" * (MAX_DESCRIPTION + 10)
    info = pull_request_info(github_env(tmp_path, event))
    assert info is not None and len(info["description"]) == MAX_DESCRIPTION


def test_gitlab_merge_request_from_predefined_variables() -> None:
    assert pull_request_info(GITLAB_MR_ENV) == {
        "schema_version": "1",
        "platform": "gitlab",
        "type": "merge_request",
        "number": "17",
        "url": "https://gitlab.example.com/acme/shop/-/merge_requests/17",
        "title": "Draft: add SBOM",
        "description": "adds the SBOM step",
        "source_branch": "sbom",
        "target_branch": "main",
        "head_sha": SHA,
        "author": "carol",
        "reviewers": ["alice", "bob"],
        "draft": True,
    }


def test_azure_pull_request_from_predefined_variables() -> None:
    info = pull_request_info(
        {
            "TF_BUILD": "True",
            "SYSTEM_PULLREQUEST_PULLREQUESTID": "900",
            "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "31",
            "SYSTEM_PULLREQUEST_SOURCEBRANCH": "refs/heads/feature",
            "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main",
            "SYSTEM_PULLREQUEST_SOURCEREPOSITORYURI": "https://dev.azure.com/acme/shop/_git/shop",
            "BUILD_REQUESTEDFOR": "Dana",
        }
    )
    assert info is not None
    assert (info["platform"], info["number"], info["source_branch"], info["target_branch"]) == (
        "azure-devops",
        "31",
        "feature",
        "main",
    )
    assert info["url"] == "https://dev.azure.com/acme/shop/_git/shop/pullrequest/31"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"GITLAB_CI": "true"},
        {"TF_BUILD": "True"},
        {"JENKINS_URL": "http://ci", "BUILD_ID": "1"},
    ],
)
def test_no_pull_request_outside_one(environ: dict[str, str]) -> None:
    assert pull_request_info(environ) is None


# --- the PR_INFO kind -----------------------------------------------------------------------


def write_json(tmp_path: Path, doc: Any, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_collected_pr_info_is_valid_evidence(tmp_path: Path) -> None:
    info = pull_request_info(GITLAB_MR_ENV)
    path = write_json(tmp_path, info, "pr-info.json")
    material = PrInfoHandler().craft("pr-info", str(path))
    assert material.kind == "PR_INFO"
    assert material.upload_path == path.absolute()
    assert material.summary == {
        "platform": "gitlab",
        "type": "merge_request",
        "number": "17",
        "url": "https://gitlab.example.com/acme/shop/-/merge_requests/17",
        "source_branch": "sbom",
        "target_branch": "main",
        "author": "carol",
        "reviewer_count": 2,
        "draft": True,
    }
    assert materials.detect_kind(str(path)) == "PR_INFO"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"number": "abc"}, "number: 'abc' does not match"),
        ({"type": "patch"}, "type: 'patch' is not one of"),
        ({"source_branch": None}, "source_branch: None is not of type 'string'"),
        ({"extra": 1}, "Additional properties are not allowed ('extra' was unexpected)"),
        ({"schema_version": "2"}, "schema_version: '1' was expected"),
    ],
)
def test_invalid_pr_info_names_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    doc = {**(pull_request_info(GITLAB_MR_ENV) or {}), **change}
    with pytest.raises(MaterialError) as info:
        PrInfoHandler().craft("pr-info", str(write_json(tmp_path, doc)))
    assert info.value.message.startswith("doc.json is not a valid PR_INFO document: ")
    assert message in info.value.message


def test_pr_info_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "pr.json"
    path.write_text('{"type": "pull_request",')
    with pytest.raises(MaterialError, match=r"pr\.json is not a valid PR_INFO document: not JSON"):
        PrInfoHandler().craft("pr-info", str(path))
    assert not PrInfoHandler().accepts(str(path))


# --- RUNNER_CONTEXT -------------------------------------------------------------------------


GIT = {
    "commit": SHA,
    "branch": "main",
    "dirty": True,
    "author_name": "A",
    "author_email": "a@example.com",
    "date": "2026-01-01T00:00:00Z",
    "message": "m",
    "remotes": [{"name": "origin", "url": "https://github.com/acme/shop.git"}],
}


def test_runner_context_document_of_a_github_job(tmp_path: Path) -> None:
    runner = discover({**github_env(tmp_path, GITHUB_EVENT), "RUNNER_ENVIRONMENT": "self-hosted"})
    doc = context_document(runner, GIT)
    assert doc == {
        "schema_version": "1",
        "runner": {
            "type": "GITHUB_ACTION",
            "url": "https://github.com/acme/shop/actions/runs/7",
            "env": runner.env,
            "environment": "self-hosted",
        },
        "git": {
            "commit": SHA,
            "branch": "main",
            "dirty": True,
            "remotes": [{"name": "origin", "url": "https://github.com/acme/shop.git"}],
        },
    }
    path = write_json(tmp_path, doc, "runner.json")
    material = RunnerContextHandler().craft("runner", str(path))
    assert material.summary == {
        "runner_type": "GITHUB_ACTION",
        "environment": "self-hosted",
        "url": "https://github.com/acme/shop/actions/runs/7",
        "env_count": len(runner.env),
        "commit": SHA,
        "branch": "main",
        "dirty": True,
        "branch_protected": None,
    }
    assert materials.detect_kind(str(path)) == "RUNNER_CONTEXT"


def test_runner_context_outside_a_checkout(tmp_path: Path) -> None:
    doc = context_document(RunnerContext(type="GENERIC"), None)
    assert doc["git"] is None
    material = RunnerContextHandler().craft("runner", str(write_json(tmp_path, doc)))
    assert material.summary["commit"] is None


def test_runner_context_with_branch_protection(tmp_path: Path) -> None:
    doc = context_document(RunnerContext(type="GITLAB_PIPELINE"), GIT)
    doc["repository"] = {"default_branch": "main", "branch_protected": True, "required_reviews": 2}
    material = RunnerContextHandler().craft("runner", str(write_json(tmp_path, doc)))
    assert material.summary["branch_protected"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"runner": {"type": "BAMBOO", "environment": "managed"}}, "runner.type: 'BAMBOO'"),
        ({"runner": {"type": "GENERIC"}}, "runner: 'environment' is a required property"),
        ({"git": {"commit": "abc", "dirty": False}}, "git.commit: 'abc' does not match"),
    ],
)
def test_invalid_runner_context_names_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    doc = {**context_document(RunnerContext(type="GENERIC"), GIT), **change}
    with pytest.raises(MaterialError) as info:
        RunnerContextHandler().craft("runner", str(write_json(tmp_path, doc)))
    assert message in info.value.message


def test_runner_context_and_pr_info_are_not_mistaken_for_each_other(tmp_path: Path) -> None:
    pr = write_json(tmp_path, pull_request_info(GITLAB_MR_ENV), "pr.json")
    ctx = write_json(tmp_path, context_document(RunnerContext(type="GENERIC"), None), "ctx.json")
    assert PrInfoHandler().accepts(str(pr)) and not RunnerContextHandler().accepts(str(pr))
    assert RunnerContextHandler().accepts(str(ctx)) and not PrInfoHandler().accepts(str(ctx))
