"""CI runner discovery from each system's documented environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainproof.core.runners import RUNNERS, collect_allowed_env, discover
from chainproof.core.runners.tekton import TektonPipeline
from chainproof.errors import ContractNotSatisfied

NOISE = {"HOME": "/home/ci", "PATH": "/usr/bin", "USER": "ci", "SHELL": "/bin/sh"}

GITHUB = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REPOSITORY": "acme/payments",
    "GITHUB_REPOSITORY_OWNER": "acme",
    "GITHUB_RUN_ID": "9876543210",
    "GITHUB_SHA": "4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_HEAD_REF": "",
    "RUNNER_NAME": "GitHub Actions 12",
    "RUNNER_OS": "Linux",
    "RUNNER_ENVIRONMENT": "github-hosted",
    "GITHUB_TOKEN": "ghs_secret",
}

GITLAB = {
    "CI": "true",
    "GITLAB_CI": "true",
    "GITLAB_USER_EMAIL": "dev@acme.example",
    "GITLAB_USER_LOGIN": "dev",
    "CI_SERVER_URL": "https://gitlab.com",
    "CI_PROJECT_URL": "https://gitlab.com/acme/payments",
    "CI_PROJECT_PATH": "acme/payments",
    "CI_COMMIT_SHA": "4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3",
    "CI_COMMIT_REF_NAME": "main",
    "CI_JOB_URL": "https://gitlab.com/acme/payments/-/jobs/123",
    "CI_PIPELINE_URL": "https://gitlab.com/acme/payments/-/pipelines/45",
    "CI_RUNNER_VERSION": "17.5.0",
    "CI_PIPELINE_SOURCE": "merge_request_event",
    "CI_MERGE_REQUEST_IID": "7",
    "CI_JOB_TOKEN": "secret",
}

AZURE = {
    "TF_BUILD": "True",
    "BUILD_REQUESTEDFOR": "Dev One",
    "BUILD_REQUESTEDFOREMAIL": "dev@acme.example",
    "BUILD_REPOSITORY_URI": "https://dev.azure.com/acme/Payments/_git/api",
    "BUILD_REPOSITORY_NAME": "api",
    "BUILD_BUILDID": "812",
    "BUILD_BUILDNUMBER": "20241105.3",
    "BUILD_BUILDURI": "vstfs:///Build/Build/812",
    "BUILD_REASON": "IndividualCI",
    "SYSTEM_TEAMFOUNDATIONSERVERURI": "https://dev.azure.com/acme/",
    "SYSTEM_TEAMPROJECT": "Payments Team",
    "SYSTEM_JOBID": "12f1170f-54f2-53f3-20dd-22fc7dff55f9",
}

JENKINS = {
    "JENKINS_HOME": "/var/jenkins_home",
    "JENKINS_URL": "https://jenkins.acme.example/",
    "BUILD_URL": "https://jenkins.acme.example/job/payments/42/",
    "JOB_NAME": "payments",
    "GIT_BRANCH": "origin/main",
    "GIT_COMMIT": "4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3",
    "WORKSPACE": "/var/jenkins_home/workspace/payments",
    "NODE_NAME": "built-in",
}

CIRCLE = {
    "CI": "true",
    "CIRCLECI": "true",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/payments/314",
    "CIRCLE_JOB": "build",
    "CIRCLE_BRANCH": "main",
    "CIRCLE_NODE_TOTAL": "1",
    "CIRCLE_NODE_INDEX": "0",
}

TEAMCITY = {
    "TEAMCITY_PROJECT_NAME": "Payments",
    "TEAMCITY_VERSION": "2024.07.3 (build 160765)",
    "BUILD_URL": "https://teamcity.acme.example/viewLog.html?buildId=99",
    "BUILD_NUMBER": "99",
    "BUILD_VCS_NUMBER": "4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3",
}

TEKTON = {
    "TEKTON_TASKRUN_NAME": "build-run-x7k2p-build",
    "TEKTON_NAMESPACE": "ci",
    "TEKTON_PIPELINE_NAME": "build",
    "TEKTON_PIPELINERUN_NAME": "build-run-x7k2p",
    "TEKTON_PIPELINE_TASK_NAME": "build",
    "HOSTNAME": "build-run-x7k2p-build-pod",
}


@pytest.fixture(autouse=True)
def _no_tekton_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the host's filesystem out of discovery (a /tekton/results here would win)."""
    for runner in RUNNERS:
        if isinstance(runner, TektonPipeline):
            monkeypatch.setattr(runner, "results_dir", tmp_path / "no-tekton")


def test_github_actions() -> None:
    ctx = discover({**NOISE, **GITHUB})
    assert ctx.type == "GITHUB_ACTION"
    assert ctx.url == "https://github.com/acme/payments/actions/runs/9876543210"
    assert ctx.environment == "managed"
    assert ctx.env == {
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REPOSITORY": "acme/payments",
        "GITHUB_REPOSITORY_OWNER": "acme",
        "GITHUB_RUN_ID": "9876543210",
        "GITHUB_SHA": "4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3",
        "RUNNER_NAME": "GitHub Actions 12",
        "RUNNER_OS": "Linux",
        "GITHUB_EVENT_NAME": "push",
    }  # empty GITHUB_HEAD_REF left out; the token never recorded


@pytest.mark.parametrize(
    ("value", "environment"),
    [("self-hosted", "self-hosted"), ("github-hosted", "managed"), ("", "unknown")],
)
def test_github_runner_environment(value: str, environment: str) -> None:
    assert discover({**GITHUB, "RUNNER_ENVIRONMENT": value}).environment == environment


def test_github_enterprise_server_url() -> None:
    ctx = discover({**GITHUB, "GITHUB_SERVER_URL": "https://github.acme.example/"})
    assert ctx.url == "https://github.acme.example/acme/payments/actions/runs/9876543210"


def test_github_needs_all_detection_vars() -> None:
    env = {k: v for k, v in GITHUB.items() if k != "GITHUB_RUN_ID"}
    assert discover(env).type == "GENERIC"


def test_gitlab() -> None:
    ctx = discover({**NOISE, **GITLAB})
    assert ctx.type == "GITLAB_PIPELINE"
    assert ctx.url == "https://gitlab.com/acme/payments/-/jobs/123"
    assert ctx.environment == "unknown"
    assert ctx.env["GITLAB_USER_LOGIN"] == "dev"
    assert ctx.env["CI_MERGE_REQUEST_IID"] == "7"
    assert ctx.env["CI_PIPELINE_SOURCE"] == "merge_request_event"
    assert "CI_JOB_TOKEN" not in ctx.env and "CI" not in ctx.env
    assert len(ctx.env) == 12


def test_azure() -> None:
    ctx = discover({**NOISE, **AZURE})
    assert ctx.type == "AZURE_PIPELINE"
    assert ctx.url == (
        "https://dev.azure.com/acme/Payments%20Team/_build/results?buildId=812&view=logs"
        "&j=12f1170f-54f2-53f3-20dd-22fc7dff55f9"
    )
    assert ctx.env["BUILD_BUILDID"] == "812"
    assert ctx.env["TF_BUILD"] == "True"
    assert "SYSTEM_TEAMPROJECT" not in ctx.env
    no_project = {k: v for k, v in AZURE.items() if k != "SYSTEM_TEAMPROJECT"}
    assert discover(no_project).url is None


def test_jenkins() -> None:
    ctx = discover({**NOISE, **JENKINS})
    assert ctx.type == "JENKINS_JOB"
    assert ctx.url == "https://jenkins.acme.example/job/payments/42/"
    assert ctx.env == {
        "JOB_NAME": "payments",
        "BUILD_URL": "https://jenkins.acme.example/job/payments/42/",
        "GIT_BRANCH": "origin/main",
        "GIT_COMMIT": "4f5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3",
        "WORKSPACE": "/var/jenkins_home/workspace/payments",
        "NODE_NAME": "built-in",
    }


def test_circleci() -> None:
    ctx = discover({**NOISE, **CIRCLE})
    assert ctx.type == "CIRCLECI_BUILD"
    assert ctx.url == "https://circleci.com/gh/acme/payments/314"
    assert set(ctx.env) == {
        "CIRCLE_BUILD_URL",
        "CIRCLE_JOB",
        "CIRCLE_BRANCH",
        "CIRCLE_NODE_TOTAL",
        "CIRCLE_NODE_INDEX",
    }
    assert discover({**CIRCLE, "CIRCLECI": "false"}).type == "GENERIC"


def test_teamcity_not_mistaken_for_jenkins() -> None:
    ctx = discover({**NOISE, **TEAMCITY})
    assert ctx.type == "TEAMCITY_PIPELINE"
    assert ctx.url == "https://teamcity.acme.example/viewLog.html?buildId=99"
    assert ctx.env["TEAMCITY_PROJECT_NAME"] == "Payments"
    assert ctx.env["USER"] == "ci" and ctx.env["HOME"] == "/home/ci"
    assert "PATH" not in ctx.env


def test_dagger_inside_github() -> None:
    ctx = discover({**GITHUB, "CHAINPROOF_DAGGER_CLIENT": "v0.13.5"})
    assert ctx.type == "DAGGER_PIPELINE"
    assert ctx.url == "https://github.com/acme/payments/actions/runs/9876543210"
    assert ctx.env == {"CHAINPROOF_DAGGER_CLIENT": "v0.13.5", "GITHUB_EVENT_NAME": "push"}


def test_dagger_chainloop_variable_inside_gitlab() -> None:
    ctx = discover({**GITLAB, "CHAINLOOP_DAGGER_CLIENT": "v0.12"})
    assert ctx.type == "DAGGER_PIPELINE"
    assert ctx.url == "https://gitlab.com/acme/payments/-/jobs/123"
    assert ctx.env["CI_MERGE_REQUEST_IID"] == "7"
    assert discover({"CHAINLOOP_DAGGER_CLIENT": "v0.12"}).url is None


def test_tekton_from_env() -> None:
    ctx = discover({**NOISE, **TEKTON})
    assert ctx.type == "TEKTON_PIPELINE"
    assert ctx.url == "tekton://ci/pipelineruns/build-run-x7k2p"
    assert ctx.env == TEKTON
    dash = discover({**TEKTON, "TEKTON_DASHBOARD_URL": "https://tekton.acme.example/"})
    assert dash.url == "https://tekton.acme.example/#/namespaces/ci/pipelineruns/build-run-x7k2p"
    task_only = {"TEKTON_TASKRUN_NAME": "lint-abc", "TEKTON_NAMESPACE": "ci"}
    assert discover(task_only).url == "tekton://ci/taskruns/lint-abc"


def test_tekton_from_results_dir(tmp_path: Path) -> None:
    results = tmp_path / "tekton" / "results"
    tekton = TektonPipeline(results_dir=results)
    assert not tekton.detect(NOISE)
    results.mkdir(parents=True)
    assert tekton.detect(NOISE)
    ctx = discover(NOISE, runners=[tekton])
    assert ctx.type == "TEKTON_PIPELINE"
    assert ctx.url is None
    assert ctx.env == {}


def test_generic_fallback() -> None:
    ctx = discover(NOISE)
    assert ctx.type == "GENERIC"
    assert ctx.url is None
    assert ctx.env == {}
    assert ctx.environment == "unknown"
    assert discover({}, runners=[]).type == "GENERIC"


def test_discover_order_generic_last() -> None:
    types = [r.type for r in RUNNERS]
    assert types[0] == "DAGGER_PIPELINE"
    assert types[-1] == "GENERIC"


def test_context_round_trip() -> None:
    ctx = discover(GITHUB)
    assert type(ctx).from_dict(ctx.to_dict()) == ctx


def test_collect_allowed_env() -> None:
    env = {"RELEASE_CHANNEL": "stable", "REGION": "eu", "OTHER": "x"}
    assert collect_allowed_env(env, ["RELEASE_CHANNEL", "REGION", "REGION"]) == {
        "RELEASE_CHANNEL": "stable",
        "REGION": "eu",
    }
    assert collect_allowed_env(env, []) == {}


def test_collect_allowed_env_names_every_missing_or_empty() -> None:
    env = {"RELEASE_CHANNEL": "stable", "TICKET": ""}
    with pytest.raises(ContractNotSatisfied) as info:
        collect_allowed_env(env, ["RELEASE_CHANNEL", "TICKET", "REGION"])
    assert info.value.message.endswith("set and non-empty: TICKET, REGION")
    assert info.value.details == {"missing_env": ["TICKET", "REGION"]}
