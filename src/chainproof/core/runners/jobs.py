"""Which CI job this is: the key that keeps the crafting state of concurrent jobs on one
machine apart when nobody chose a state directory.

Pure over the ``environ`` mapping it is given, like the rest of ``core.runners``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from chainproof.errors import InvalidInput

__all__ = ["JOB_ID_ENV", "job_key"]

JOB_ID_ENV: dict[str, tuple[tuple[str, ...], ...]] = {
    # RUNNER_TEMP, a directory of its own for every job, is the state directory already; a
    # job without it has no per-job id (matrix legs share run id and job name).
    "GITHUB_ACTION": (),
    "GITLAB_PIPELINE": (("CI_JOB_ID",),),
    "JENKINS_JOB": (("BUILD_TAG",), ("JOB_NAME", "BUILD_NUMBER")),
    "CIRCLECI_BUILD": (("CIRCLE_WORKFLOW_JOB_ID",), ("CIRCLE_BUILD_NUM",)),
    "AZURE_PIPELINE": (("SYSTEM_JOBID",),),
    "TEAMCITY_PIPELINE": (("TEAMCITY_PROJECT_NAME", "TEAMCITY_BUILDCONF_NAME", "BUILD_NUMBER"),),
    "TEKTON_PIPELINE": (("TEKTON_TASKRUN_NAME",),),
    # Not listed: DAGGER_PIPELINE (the CLI runs in a container of the pipeline's own, whose
    # temp dir no other job sees) and GENERIC (a developer's shell, or an unknown CI).
}
"""Runner type -> the variables naming the job, by preference: the first group that is all
set names it. An empty tuple: the runner is known, but gives no usable job id."""

GENERIC_JOB_ID_ENV: tuple[tuple[str, str], ...] = (("buildkite", "BUILDKITE_JOB_ID"),)
"""CI systems chainproof records as GENERIC whose job id is still known: (name, variable)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_ID = 64


def job_key(runner_type: str, environ: Mapping[str, str]) -> str | None:
    """``<runner>-<job id>``, safe in a file name, for a job of ``runner_type``; None when the
    runner needs no key (a developer's shell, a Dagger container).

    Raises InvalidInput (exit 2) inside a recognised CI whose job id is not set, since two
    of its jobs on one machine would otherwise share one attestation.
    """
    if runner_type == "GENERIC":
        for name, variable in GENERIC_JOB_ID_ENV:
            if environ.get(variable):
                return f"{name}-{_safe(environ[variable])}"
        return None
    groups = JOB_ID_ENV.get(runner_type)
    if groups is None:
        return None
    runner = runner_type.lower().replace("_", "-")
    for names in groups:
        if all(environ.get(n) for n in names):
            return f"{runner}-{_safe('-'.join(environ[n] for n in names))}"
    wanted = " or ".join("+".join(names) for names in groups) or "RUNNER_TEMP"
    raise InvalidInput(
        f"this {runner_type} job has no job id ({wanted} unset): concurrent jobs on this "
        "machine would share one attestation state file",
        hint="pass --state-dir or set CHAINPROOF_STATE_DIR to a directory of this job's own",
    )


def _safe(job_id: str) -> str:
    """``job_id`` as a file-name part; a digest suffix keeps ids apart that only differ in
    the characters replaced, or beyond the length kept."""
    safe = _UNSAFE.sub("_", job_id)[:_MAX_ID]
    if safe != job_id:
        safe += "-" + hashlib.sha256(job_id.encode()).hexdigest()[:12]
    return safe
