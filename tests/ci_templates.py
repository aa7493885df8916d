"""Runs chainproof's CI integrations the way their CI systems do, so tests execute their steps.

:func:`run_github_action` runs a composite ``action.yml``: each step's ``run`` in ``bash
--noprofile --norc -eo pipefail`` (GitHub's ``shell: bash``), with the step's ``env`` after
``${{ inputs.* }}`` and ``${{ github.action_path }}`` are substituted (defaults applied), a
fresh ``GITHUB_OUTPUT`` file per step, and the action's outputs resolved from the steps'.
:func:`run_gitlab_job` runs a job that ``extends`` a hidden template job: its ``variables``
over the template's, then ``before_script`` and ``script`` in one ``bash -eo pipefail``
session, as GitLab's runner does. An expression either runner does not know fails the test,
so the integration cannot use a feature the test does not exercise.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _substitute(text: str, known: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise AssertionError(f"the test runner does not know the expression {name!r}")
        return known[name]

    return _EXPRESSION.sub(one, text)


def run_github_action(
    action: Path, inputs: dict[str, str], env: dict[str, str], workdir: Path
) -> dict[str, str]:
    """Run a composite action's steps in order; returns the action's outputs."""
    spec: dict[str, Any] = yaml.safe_load(action.read_text())
    assert spec["runs"]["using"] == "composite"
    unknown = set(inputs) - set(spec["inputs"])
    assert not unknown, f"the action has no inputs {sorted(unknown)}"
    known = {"github.action_path": str(action.parent)}
    for name, declared in spec["inputs"].items():
        if declared.get("required") and name not in inputs:
            raise AssertionError(f"input {name!r} is required")
        known[f"inputs.{name}"] = inputs.get(name, str(declared.get("default", "")))
    temp = workdir / "runner-temp"
    temp.mkdir(parents=True, exist_ok=True)
    for number, step in enumerate(spec["runs"]["steps"]):
        assert step["shell"] == "bash", "every step runs in bash"
        output = temp / f"output-{number}"
        output.touch()
        step_env = {**env, "RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(output)}
        step_env.update({k: _substitute(str(v), known) for k, v in step.get("env", {}).items()})
        script = temp / f"step-{number}.sh"
        script.write_text(_substitute(step["run"], known))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=step_env, cwd=workdir, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        if proc.returncode != 0:
            raise AssertionError(
                f"step {step.get('name', number)!r} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        for line in output.read_text().splitlines():
            key, _, value = line.partition("=")
            known[f"steps.{step.get('id', number)}.outputs.{key}"] = value
    return {k: _substitute(v["value"], known) for k, v in spec.get("outputs", {}).items()}


def run_gitlab_job(
    template: Path,
    job: dict[str, Any],
    env: dict[str, str],
    workdir: Path,
    mint: Callable[[str], str],
) -> subprocess.CompletedProcess[str]:
    """Run ``job`` (a mapping as in .gitlab-ci.yml, with ``extends``) from ``template``;
    ``mint(audience)`` gives each of the template's ``id_tokens``."""
    jobs: dict[str, Any] = yaml.safe_load(template.read_text())
    base = jobs[job["extends"]]
    variables = {**base.get("variables", {}), **job.get("variables", {})}
    for name, token in base.get("id_tokens", {}).items():
        variables[name] = mint(token["aud"])
    lines = [*base.get("before_script", []), *base.get("script", [])]
    script = workdir / "gitlab-job.sh"
    script.write_text("\n".join(lines) + "\n")
    job_env = {**env, **{k: str(v) for k, v in variables.items()}, "CI_PROJECT_DIR": str(workdir)}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=job_env, cwd=workdir, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
