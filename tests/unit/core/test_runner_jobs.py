"""The CI job key that keeps concurrent jobs' crafting states apart."""

from __future__ import annotations

import pytest

from chainproof.core.runners import discover
from chainproof.core.runners.jobs import job_key
from chainproof.errors import InvalidInput


def key(environ: dict[str, str]) -> str | None:
    return job_key(discover(environ).type, environ)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GITLAB_CI": "true", "CI_JOB_ID": "4711"}, "gitlab-pipeline-4711"),
        (
            {"JENKINS_HOME": "/j", "BUILD_URL": "http://j/1", "BUILD_TAG": "jenkins-shop-12"},
            "jenkins-job-jenkins-shop-12",
        ),
        (
            {
                "JENKINS_HOME": "/j",
                "BUILD_URL": "http://j/1",
                "JOB_NAME": "shop",
                "BUILD_NUMBER": "12",
            },
            "jenkins-job-shop-12",
        ),
        (
            {"CIRCLECI": "true", "CIRCLE_WORKFLOW_JOB_ID": "a1b2", "CIRCLE_BUILD_NUM": "9"},
            "circleci-build-a1b2",
        ),
        ({"CIRCLECI": "true", "CIRCLE_BUILD_NUM": "9"}, "circleci-build-9"),
        ({"TF_BUILD": "True", "SYSTEM_JOBID": "12f1170f-54f2"}, "azure-pipeline-12f1170f-54f2"),
        (
            {
                "TEAMCITY_PROJECT_NAME": "shop",
                "TEAMCITY_BUILDCONF_NAME": "build",
                "BUILD_NUMBER": "3",
            },
            "teamcity-pipeline-shop-build-3",
        ),
        ({"TEKTON_TASKRUN_NAME": "build-run-x"}, "tekton-pipeline-build-run-x"),
        ({"BUILDKITE": "true", "BUILDKITE_JOB_ID": "0190-ab"}, "buildkite-0190-ab"),
    ],
)
def test_the_job_id_of_each_runner(environ: dict[str, str], expected: str) -> None:
    assert key(environ) == expected


def test_no_key_in_a_developer_shell_or_a_dagger_container() -> None:
    assert key({}) is None
    assert key({"HOME": "/home/dev"}) is None
    assert key({"CHAINPROOF_DAGGER_CLIENT": "v1", "CI_JOB_ID": "1"}) is None


def test_unsafe_characters_are_replaced_and_ids_kept_apart() -> None:
    jenkins = {"JENKINS_HOME": "/j", "BUILD_URL": "http://j/1"}
    slash = key({**jenkins, "BUILD_TAG": "jenkins-team/shop-12"})
    underscore = key({**jenkins, "BUILD_TAG": "jenkins-team_shop-12"})
    assert slash is not None and "/" not in slash
    assert slash.startswith("jenkins-job-jenkins-team_shop-12-")
    assert underscore == "jenkins-job-jenkins-team_shop-12"
    long_a = key({**jenkins, "BUILD_TAG": "x" * 100 + "a"})
    long_b = key({**jenkins, "BUILD_TAG": "x" * 100 + "b"})
    assert long_a != long_b
    assert long_a is not None and len(long_a) < 100


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"GITLAB_CI": "true"}, "CI_JOB_ID"),
        ({"TF_BUILD": "True"}, "SYSTEM_JOBID"),
        ({"CI": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "1"}, "RUNNER_TEMP"),
    ],
)
def test_a_recognised_ci_without_a_job_id_is_refused(environ: dict[str, str], names: str) -> None:
    with pytest.raises(InvalidInput, match=names) as info:
        key(environ)
    assert info.value.exit_code == 2
    assert "--state-dir" in (info.value.hint or "")
    assert "CHAINPROOF_STATE_DIR" in (info.value.hint or "")
