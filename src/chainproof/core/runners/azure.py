"""Azure Pipelines (https://learn.microsoft.com/azure/devops/pipelines/build/variables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlencode

from chainproof.core.runners.base import EnvRunner


class AzurePipeline(EnvRunner):
    """Detected by ``TF_BUILD``; the URL is built from the collection URI, project and ids."""

    type: ClassVar[str] = "AZURE_PIPELINE"
    detect_env = ("TF_BUILD",)
    recorded_env = (
        "BUILD_REQUESTEDFOREMAIL",
        "BUILD_REQUESTEDFOR",
        "BUILD_REPOSITORY_URI",
        "BUILD_REPOSITORY_NAME",
        "BUILD_BUILDID",
        "BUILD_BUILDNUMBER",
        "BUILD_BUILDURI",
        "BUILD_REASON",
        "TF_BUILD",
    )

    def url(self, environ: Mapping[str, str]) -> str | None:
        """``<collection>/<project>/_build/results?buildId=<id>&view=logs&j=<job id>``."""
        server = environ.get("SYSTEM_TEAMFOUNDATIONSERVERURI")
        project = environ.get("SYSTEM_TEAMPROJECT")
        build_id = environ.get("BUILD_BUILDID")
        if not (server and project and build_id):
            return None
        query = {"buildId": build_id, "view": "logs"}
        if environ.get("SYSTEM_JOBID"):
            query["j"] = environ["SYSTEM_JOBID"]
        return f"{server.rstrip('/')}/{quote(project)}/_build/results?{urlencode(query)}"
