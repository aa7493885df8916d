"""Integration fixtures: the control plane over real SQLite and PostgreSQL databases.

Each database is created and migrated once per test session; every test gets its own fresh
organisation (with owner token and signing CA), so tests are isolated by tenancy.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.pg import pg_database

from chainproof.server.app import create_app
from chainproof.server.db.migrate import migrate
from chainproof.server.settings import Settings


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database URL, SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "chainproof.db"
        url = f"sqlite:///{path}"
        migrate(url)
        yield url
        return
    gen = pg_database()
    url = next(gen)
    migrate(url)
    yield url
    with pytest.raises(StopIteration):
        next(gen)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Embedded settings over ``database_url`` with a private data dir."""
    data_dir = tmp_path_factory.mktemp("data")
    return Settings.embedded(
        data_dir,
        environ={},
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        max_body_bytes=2 * 1024 * 1024,
        public_url="http://testserver",
    )


@pytest.fixture(scope="session")
def app_and_client(settings: Settings) -> Iterator[tuple[Any, TestClient]]:
    """One app per database (no lifespan: the expiry job is driven by the tests)."""
    app = create_app(settings, start_worker=False)
    client = TestClient(app, raise_server_exceptions=False)
    yield app, client
    client.close()
    app.state.cas_source.close()  # the CAS backends it built (no lifespan closes them here)
    app.state.engine.dispose()


@pytest.fixture
def sessions(app_and_client: tuple[Any, TestClient]) -> sessionmaker[Session]:
    """The app's sessionmaker, for setting up and inspecting rows directly."""
    maker: sessionmaker[Session] = app_and_client[0].state.sessions
    return maker


@dataclass
class Env:
    """A test's organisation: its owner token and a client speaking for it."""

    client: TestClient
    org: dict[str, Any]
    token: str
    settings: Settings
    sessions: sessionmaker[Session]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(token), **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Any:
        headers = {**self.headers(token), **kw.pop("headers", {})}
        return self.client.post(f"/api/v1{path}", json=body, headers=headers, **kw)

    def put(self, path: str, body: Any = None, token: str | None = None) -> Any:
        return self.client.put(f"/api/v1{path}", json=body, headers=self.headers(token))

    def patch(self, path: str, body: Any = None, token: str | None = None) -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers(token))

    def delete(self, path: str, token: str | None = None) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers(token))

    def robot(self, name: str = "ci", **scope: Any) -> str:
        reply = self.post("/tokens", {"name": name, **scope})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["token"])

    def new_org(self, **kw: Any) -> Env:
        return new_env(self.client, self.settings, self.sessions, **kw)


def new_env(
    client: TestClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    allow_implicit_creation: bool = True,
) -> Env:
    from chainproof.server.bootstrap import create_org

    name = f"org-{secrets.token_hex(4)}"
    with sessions.begin() as session:
        org, token = create_org(session, name, allow_implicit_creation=allow_implicit_creation)
    return Env(client=client, org=org, token=token, settings=settings, sessions=sessions)


@pytest.fixture
def app_client(
    app_and_client: tuple[Any, TestClient], settings: Settings, sessions: sessionmaker[Session]
) -> Env:
    """A TestClient with a fresh organisation and its owner token."""
    return new_env(app_and_client[1], settings, sessions)


@pytest.fixture
def assets_dir() -> Path:
    """tests/assets."""
    return Path(__file__).parent.parent / "assets"
