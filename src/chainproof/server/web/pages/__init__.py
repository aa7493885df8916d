"""The dashboard's page routers, one module per part of the site."""

from fastapi import APIRouter

from chainproof.server.web.pages import (
    audit,
    contracts,
    findings,
    oidc,
    overview,
    runs,
    session,
    workflows,
)

#: Every page router, in the order they are added to the app.
PAGES: tuple[APIRouter, ...] = (
    session.router,
    oidc.router,
    overview.router,
    workflows.router,
    runs.router,
    contracts.router,
    findings.router,
    audit.router,
)
