"""``/runs``: the run list with its filters, and each run with its evidence.

The list is ``services/run_list.py`` (what ``GET /api/v1/runs`` and ``workflow run list``
answer); a run is ``services/runs.py``'s view, its policy results as recorded at push
(``services/enforcement.py``), its verification as recorded at push beside the same check
made again now (``services/run_check.py``), and its blobs from the CAS as a download grant
allows them (``services/cas.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from chainproof.core import jsonload
from chainproof.core.bundle import Bundle
from chainproof.core.digest import Digest
from chainproof.core.moments import point_in_time
from chainproof.errors import InvalidInput, NotFound
from chainproof.server.db import Attestation, WorkflowRun
from chainproof.server.db.base import utcnow
from chainproof.server.services import cas, enforcement, run_check, run_list, runs, slsa
from chainproof.server.support.times import rfc3339
from chainproof.server.web.auth import SignedInDep, Web
from chainproof.server.web.present import (
    attachment,
    content_type,
    material_summary,
    page_url,
    pretty_json,
)
from chainproof.server.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 25
#: The run list's filters: query parameter → label (also the form's order).
FILTERS = {
    "workflow": "Workflow",
    "project": "Project",
    "version": "Version",
    "status": "Status",
    "runner": "Runner type",
    "since": "Created since",
    "until": "Created before",
}


@router.get("/runs")
def run_list_page(
    web: SignedInDep,
    workflow: str = "",
    project: str = "",
    version: str = "",
    status: str = "",
    runner: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Runs newest first, filtered, 25 a page (keyset: the next page's link holds a cursor)."""
    assert web.principal is not None
    given = {"workflow": workflow, "project": project, "version": version, "status": status}
    given |= {"runner": runner, "since": since, "until": until}
    filters = {name: value.strip() for name, value in given.items()}
    try:
        where = run_list.RunFilter(
            workflow=filters["workflow"] or None,
            project=filters["project"] or None,
            version=filters["version"] or None,
            status=filters["status"] or None,
            runner_type=filters["runner"] or None,
            since=_moment(filters["since"], "since"),
            until=_moment(filters["until"], "until"),
        )
        rows, nxt = run_list.list_page(
            web.session, web.principal, limit=PAGE_SIZE, cursor=cursor or None, where=where
        )
    except InvalidInput as err:
        return _list(web, filters, [], None, error=err)
    return _list(web, filters, run_list.views(web.session, rows), nxt, paged=bool(cursor))


def _list(
    web: Web,
    filters: dict[str, str],
    items: list[dict[str, Any]],
    nxt: str | None,
    *,
    paged: bool = False,
    error: InvalidInput | None = None,
) -> HTMLResponse:
    return web.render(
        "runs.html",
        status=400 if error else 200,
        runs=items,
        filters=filters,
        labels=FILTERS,
        statuses=runs.STATUSES,
        next_url=page_url("/runs", {**filters, "cursor": nxt}) if nxt else None,
        first_url=page_url("/runs", dict(filters)) if paged else None,
        error=error,
    )


def _moment(text: str, name: str) -> datetime | None:
    """A filter's time: a duration back from now (``7d``), a date or a date-time (UTC)."""
    if not text:
        return None
    try:
        return point_in_time(text, utcnow())
    except ValueError:
        raise InvalidInput(
            f"{FILTERS[name].lower()} {text!r} is neither a duration nor a date",
            hint="use e.g. 90m, 12h, 7d, 2026-12-01 or 2026-12-01T10:00:00Z",
        ) from None


@router.get("/runs/{run_id}", response_model=None)
def run_page(run_id: str, web: SignedInDep) -> HTMLResponse | RedirectResponse:
    """One run: its facts, materials, policy results, verification and signed documents.
    A unique id prefix (as the API takes) redirects to the run's own URL."""
    assert web.principal is not None
    run = runs.get_run(web.session, web.principal, run_id)
    if run.id != run_id:
        return web.redirect(f"/runs/{run.id}")
    view = runs.view(web.session, run, materials=True)
    for material in view["materials"]:
        material["summary_text"] = material_summary(material["kind"], material["summary"])
        material["downloadable"] = bool(material["uploaded"] or material["inline"])
    attestation = _attestation(web, run)
    documents = _documents(web, run, attestation)
    return web.render(
        "runs_detail.html",
        run=view,
        policies=[c.to_dict() for c in enforcement.stored(web.session, run.id)],
        recorded=_recorded(run),
        rechecked=(
            run_check.recheck(web.session, web.principal, run, attestation) if attestation else None
        ),
        documents=documents,
    )


def _recorded(run: WorkflowRun) -> dict[str, Any]:
    """What the push recorded as verified, with the log's integration time as a date."""
    recorded = dict(run.verification or {})
    entry = dict(recorded.get("transparency_log") or {})
    if "integrated_time" in entry:
        at = datetime.fromtimestamp(int(entry["integrated_time"]), UTC)
        entry["integrated_at"] = rfc3339(at)
        recorded["transparency_log"] = entry
    return recorded


def _attestation(web: Web, run: WorkflowRun) -> Attestation | None:
    assert web.principal is not None
    try:
        return runs.get_attestation(web.session, web.principal, run.id)
    except NotFound:
        return None  # not pushed (yet): the page says so


def _documents(web: Web, run: WorkflowRun, attestation: Attestation | None) -> list[Any]:
    """``(slug, title, pretty JSON or None)`` for the statement, the bundle and the VSA
    (its statement decoded; the download is the signed bundle)."""
    assert web.principal is not None
    statement = bundle = vsa = None
    if attestation is not None:
        statement = pretty_json(attestation.statement)
        bundle = pretty_json(json.loads(attestation.bundle))
        try:
            vsa = pretty_json(_payload(slsa.get_vsa(web.session, web.principal, run.id)))
        except NotFound:
            vsa = None
    return [
        ("statement", "in-toto statement", statement),
        ("bundle", "Sigstore bundle", bundle),
        ("vsa", "Verification summary (VSA)", vsa),
    ]


def _payload(bundle: dict[str, Any]) -> Any:
    """The statement a signed bundle carries (its DSSE payload), for people to read."""
    envelope = Bundle.from_json(json.dumps(bundle)).dsse_envelope
    return jsonload.loads(envelope.payload) if envelope else bundle


@router.get("/runs/{run_id}/materials/{digest}")
def material_download(run_id: str, digest: str, web: SignedInDep) -> StreamingResponse:
    """A material's blob from the CAS, with its media type and file name: for materials of
    this run that were uploaded or held inline, to those who may download them."""
    assert web.principal is not None
    run = runs.get_run(web.session, web.principal, run_id)
    wanted = str(Digest.parse(digest))
    found = [
        m
        for m in runs.view(web.session, run, materials=True)["materials"]
        if m["digest"] == wanted and (m["uploaded"] or m["inline"])
    ]
    if not found:
        raise NotFound(f"run {run.id} has no stored material {wanted}")
    material = found[0]
    source = web.request.app.state.cas_source
    chunks = cas.open_download(web.session, web.principal, source, Digest.parse(wanted))
    first = next(chunks, b"")  # a missing blob fails here, as a page, not mid-stream
    name = material["filename"] or f"{material['name']}-{wanted.partition(':')[2][:12]}"
    return StreamingResponse(
        chain([first], chunks),
        media_type=content_type(material["kind"], material["filename"]),
        headers={"Content-Disposition": attachment(name)},
    )


@router.get("/runs/{run_id}/{document}.json")
def document_download(run_id: str, document: str, web: SignedInDep) -> Response:
    """The raw statement, bundle or VSA as a JSON file."""
    assert web.principal is not None
    run = runs.get_run(web.session, web.principal, run_id)
    if document == "vsa":
        body: Any = slsa.get_vsa(web.session, web.principal, run.id)
    elif document in ("statement", "bundle"):
        attestation = runs.get_attestation(web.session, web.principal, run.id)
        body = attestation.statement if document == "statement" else json.loads(attestation.bundle)
    else:
        raise NotFound(f"run {run.id} has no document {document!r}", hint="statement, bundle, vsa")
    return Response(
        json.dumps(body, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": attachment(f"{run.id}-{document}.json")},
    )
