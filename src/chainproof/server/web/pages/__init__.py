"""The dashboard's page routers, one module per part of the site."""

from fastapi import APIRouter

from chainproof.server.web.pages import oidc, overview, session, workflows

#: Every page router, in the order they are added to the app.
PAGES: tuple[APIRouter, ...] = (
    session.router,
    oidc.router,
    overview.router,
    workflows.router,
)
