"""Shared steps for the server integration tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.conftest import Env

ASSETS = Path(__file__).parent.parent / "assets"
E2E_ASSETS = Path(__file__).parent.parent.parent / "assets" / "e2e"
GENERIC = {"type": "GENERIC", "url": None, "env": {}}


def read(name: str) -> str:
    path = ASSETS / name
    if not path.exists():
        path = E2E_ASSETS / name
    return path.read_text()


def setup_workflow(
    env: Env, project: str = "p", workflow: str = "build", contract: str = "contract.yaml"
) -> None:
    """Project, contract and workflow, as an admin would create them."""
    assert env.post("/projects", {"name": project}).status_code == 201
    reply = env.post("/contracts", {"name": f"{project}-c", "raw": read(contract)})
    assert reply.status_code == 201, reply.text
    reply = env.post(
        "/workflows", {"name": workflow, "project": project, "contract": f"{project}-c"}
    )
    assert reply.status_code == 201, reply.text


def init_run(
    env: Env, token: str | None = None, project: str = "p", workflow: str = "build", **extra: Any
) -> Any:
    body = {"workflow": workflow, "project": project, "runner": GENERIC, **extra}
    return env.post("/runs", body, token=token)
