"""Pull- and merge-request metadata of the job, when it runs for one (the PR_INFO evidence).

GitHub Actions puts the pull request in the webhook payload at ``GITHUB_EVENT_PATH`` (events
``pull_request`` and ``pull_request_target``); GitLab CI and Azure Pipelines put it in
predefined variables. The document follows Chainloop's ``pr-info`` field names (``platform``,
``type``, ``number``, ``url``, ``title``, ``description``, ``source_branch``,
``target_branch``, ``author``, ``reviewers``) so policies written for one read the other; its
JSON Schema is ``core/materials/schemas/pr-info-v1.json``.

Pure over the ``environ`` it is given; the one file read is GitHub's event payload.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PR_INFO_VERSION = "1"
"""``schema_version`` of the documents made here (``pr-info-v1.json``)."""

MAX_DESCRIPTION = 16 * 1024
"""Characters of a PR description kept: the evidence is metadata, not the PR's essay."""

_GITHUB_PR_EVENTS = ("pull_request", "pull_request_target")


def pull_request_info(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The PR_INFO document of the job's pull/merge request, or None when it runs for none.

    Never raises: an unreadable or malformed GitHub event payload yields None (the job is then
    attested without PR_INFO rather than failing its build over metadata).
    """
    if environ.get("GITHUB_ACTIONS") == "true" or environ.get("GITHUB_EVENT_PATH"):
        return _github(environ)
    if environ.get("GITLAB_CI") and environ.get("CI_MERGE_REQUEST_IID"):
        return _gitlab(environ)
    if environ.get("TF_BUILD") and environ.get("SYSTEM_PULLREQUEST_PULLREQUESTID"):
        return _azure(environ)
    return None


def _document(**fields: Any) -> dict[str, Any]:
    description = fields.get("description") or ""
    fields["description"] = description[:MAX_DESCRIPTION]
    fields["reviewers"] = sorted(set(fields.get("reviewers") or []))
    return {"schema_version": PR_INFO_VERSION, **fields}


def _github(environ: Mapping[str, str]) -> dict[str, Any] | None:
    if environ.get("GITHUB_EVENT_NAME") not in _GITHUB_PR_EVENTS:
        return None
    try:
        payload = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        pr = payload["pull_request"]
        reviewers = [r["login"] for r in pr.get("requested_reviewers") or [] if "login" in r]
        return _document(
            platform="github",
            type="pull_request",
            number=str(pr["number"]),
            url=pr["html_url"],
            title=pr.get("title") or "",
            description=pr.get("body") or "",
            source_branch=pr["head"]["ref"],
            target_branch=pr["base"]["ref"],
            head_sha=pr["head"].get("sha"),
            author=(pr.get("user") or {}).get("login"),
            reviewers=reviewers,
            draft=bool(pr.get("draft", False)),
        )
    except (OSError, AttributeError, KeyError, TypeError, ValueError):
        return None


def _gitlab(environ: Mapping[str, str]) -> dict[str, Any]:
    iid = environ["CI_MERGE_REQUEST_IID"]
    project_url = (environ.get("CI_MERGE_REQUEST_PROJECT_URL") or "").rstrip("/")
    reviewers = [r.strip() for r in environ.get("CI_MERGE_REQUEST_ASSIGNEES", "").split(",")]
    return _document(
        platform="gitlab",
        type="merge_request",
        number=iid,
        url=f"{project_url}/-/merge_requests/{iid}" if project_url else None,
        title=environ.get("CI_MERGE_REQUEST_TITLE", ""),
        description=environ.get("CI_MERGE_REQUEST_DESCRIPTION", ""),
        source_branch=environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
        target_branch=environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
        head_sha=environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or None,
        author=environ.get("GITLAB_USER_LOGIN"),
        reviewers=[r for r in reviewers if r],
        draft=environ.get("CI_MERGE_REQUEST_DRAFT") == "true",
    )


def _azure(environ: Mapping[str, str]) -> dict[str, Any]:
    number = environ.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER") or environ.get(
        "SYSTEM_PULLREQUEST_PULLREQUESTID", ""
    )
    repo = (environ.get("SYSTEM_PULLREQUEST_SOURCEREPOSITORYURI") or "").rstrip("/")
    return _document(
        platform="azure-devops",
        type="pull_request",
        number=number,
        url=f"{repo}/pullrequest/{number}" if repo else None,
        title="",
        description="",
        source_branch=_branch(environ.get("SYSTEM_PULLREQUEST_SOURCEBRANCH")),
        target_branch=_branch(environ.get("SYSTEM_PULLREQUEST_TARGETBRANCH")),
        head_sha=environ.get("SYSTEM_PULLREQUEST_SOURCECOMMITID") or None,
        author=environ.get("BUILD_REQUESTEDFOR"),
        reviewers=[],
        draft=environ.get("SYSTEM_PULLREQUEST_ISDRAFT", "").lower() == "true",
    )


def _branch(ref: str | None) -> str | None:
    return ref.removeprefix("refs/heads/") if ref else None
