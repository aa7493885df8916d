"""Tekton Pipelines.

A Tekton step sees no CI variables of its own: the task maps the run's names into
``TEKTON_*`` variables (from params or the downward API), and every step has the
``/tekton/results`` directory. Chainloop reads pod labels through the Kubernetes API; we do
not (no cluster credentials in the CLI), so only what the task exposes is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from chainproof.core.runners.base import EnvRunner

RESULTS_DIR = Path("/tekton/results")
DETECT_ENV = ("TEKTON_TASKRUN_NAME", "TEKTON_PIPELINERUN_NAME")


class TektonPipeline(EnvRunner):
    """Detected by ``TEKTON_TASKRUN_NAME`` / ``TEKTON_PIPELINERUN_NAME`` or ``/tekton/results``.

    ``results_dir`` is the one non-environment probe; tests point it elsewhere.
    """

    type: ClassVar[str] = "TEKTON_PIPELINE"
    recorded_env = (
        "TEKTON_TASKRUN_NAME",
        "TEKTON_NAMESPACE",
        # optional
        "HOSTNAME",
        "TEKTON_TASK_NAME",
        "TEKTON_PIPELINE_NAME",
        "TEKTON_PIPELINERUN_NAME",
        "TEKTON_PIPELINE_TASK_NAME",
    )

    def __init__(self, results_dir: Path = RESULTS_DIR) -> None:
        self.results_dir = results_dir

    def detect(self, environ: Mapping[str, str]) -> bool:
        """A Tekton run variable is set, or the results directory exists."""
        if any(environ.get(n) for n in DETECT_ENV):
            return True
        try:
            return self.results_dir.is_dir()
        except OSError:
            return False

    def url(self, environ: Mapping[str, str]) -> str | None:
        """The Tekton Dashboard page of the pipeline run (or task run) when
        ``TEKTON_DASHBOARD_URL`` is set, else ``tekton://<namespace>/<kind>/<name>``."""
        namespace = environ.get("TEKTON_NAMESPACE")
        if environ.get("TEKTON_PIPELINERUN_NAME"):
            kind, name = "pipelineruns", environ["TEKTON_PIPELINERUN_NAME"]
        elif environ.get("TEKTON_TASKRUN_NAME"):
            kind, name = "taskruns", environ["TEKTON_TASKRUN_NAME"]
        else:
            return None
        if not namespace:
            return None
        dashboard = environ.get("TEKTON_DASHBOARD_URL")
        if dashboard:
            return f"{dashboard.rstrip('/')}/#/namespaces/{namespace}/{kind}/{name}"
        return f"tekton://{namespace}/{kind}/{name}"
