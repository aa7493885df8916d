"""CI runner discovery: which CI system runs this job, and what it says about the run.

Every function here is pure over the ``environ`` mapping it is given; the CLI passes the
process environment, tests a dict; nothing here reads the process environment itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chainproof.core.runners.azure import AzurePipeline
from chainproof.core.runners.base import EnvRunner, Runner, RunnerContext, pick_env
from chainproof.core.runners.circleci import CircleCIBuild
from chainproof.core.runners.dagger import DaggerPipeline
from chainproof.core.runners.generic import GenericRunner
from chainproof.core.runners.github_actions import GitHubActions
from chainproof.core.runners.gitlab import GitLabPipeline
from chainproof.core.runners.jenkins import JenkinsJob
from chainproof.core.runners.teamcity import TeamCityPipeline
from chainproof.core.runners.tekton import TektonPipeline
from chainproof.errors import ContractNotSatisfied

__all__ = [
    "RUNNERS",
    "EnvRunner",
    "Runner",
    "RunnerContext",
    "collect_allowed_env",
    "context_document",
    "discover",
    "pick_env",
]

RUNNERS: tuple[Runner, ...] = (
    DaggerPipeline(),  # first: a Dagger pipeline runs inside GitHub Actions or GitLab CI
    GitHubActions(),
    GitLabPipeline(),
    AzurePipeline(),
    JenkinsJob(),
    CircleCIBuild(),
    TeamCityPipeline(),
    TektonPipeline(),
    GenericRunner(),  # last: always matches
)
"""The order in which :func:`discover` asks each runner's ``detect``."""


def discover(environ: Mapping[str, str], *, runners: Sequence[Runner] = RUNNERS) -> RunnerContext:
    """The context of the first runner in ``runners`` that recognises ``environ``.

    Falls back to GENERIC (nothing recorded, no URL) when none does.
    """
    for runner in runners:
        if runner.detect(environ):
            return runner.context(environ)
    return GenericRunner().context(environ)


def collect_allowed_env(environ: Mapping[str, str], allow_list: Iterable[str]) -> dict[str, str]:
    """The values of the contract's ``envAllowList`` variables.

    Raises ContractNotSatisfied naming every listed variable that is unset or empty.
    """
    names = list(dict.fromkeys(allow_list))
    missing = [n for n in names if not environ.get(n)]
    if missing:
        raise ContractNotSatisfied(
            "the contract's envAllowList needs these environment variables set and non-empty: "
            + ", ".join(missing),
            hint="export them before `chainproof attestation init`",
            missing_env=missing,
        )
    return {n: environ[n] for n in names}


def context_document(runner: RunnerContext, git: Mapping[str, Any] | None) -> dict[str, Any]:
    """The RUNNER_CONTEXT document (``schemas/runner-context-v1.json``) of this job."""
    checkout = None
    if git:
        checkout = {
            "commit": git["commit"],
            "branch": git.get("branch"),
            "dirty": bool(git.get("dirty")),
            "remotes": list(git.get("remotes") or []),
        }
    return {"schema_version": "1", "runner": runner.to_dict(), "git": checkout}
