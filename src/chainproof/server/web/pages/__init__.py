"""The dashboard's page routers, one module per part of the site."""

from fastapi import APIRouter

from chainproof.server.web.pages import audit, contracts, findings, overview, runs, session

#: Every page router, in the order they are added to the app.
PAGES: tuple[APIRouter, ...] = (
    session.router,
    overview.router,
    runs.router,
    contracts.router,
    findings.router,
    audit.router,
)
