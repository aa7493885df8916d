"""Wire the dashboard into the app: its pages, and its static files at ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from chainproof.server.web.pages import PAGES

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add every page router and the static files to ``app``."""
    for router in PAGES:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
