"""Request dependencies: one Session per request (commit on success) and the Principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from chainproof.cas.backend import Backend
from chainproof.errors import Unauthorized
from chainproof.server.services import signin, tokens
from chainproof.server.settings import Settings
from chainproof.server.support.principal import Principal


def _session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _principal(
    request: Request, session: Annotated[Session, Depends(_session, scope="function")]
) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("an API token is required", hint="send Authorization: Bearer cp_...")
    secret = secret.strip()
    if signin.is_session_secret(secret):  # a person's session names its organisation
        return signin.authenticate(session, secret, request.headers.get(signin.ORG_HEADER))
    return tokens.authenticate(session, secret)


def session_secret(request: Request) -> str:
    """The bearer secret of a person's sign-in session; Unauthorized for anything else."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not signin.is_session_secret(secret):
        raise Unauthorized(
            "this needs a person's sign-in session, not an API token",
            hint="sign in with `chainproof auth login`",
        )
    return secret


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


SessionDep = Annotated[Session, Depends(_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(_principal)]
SettingsDep = Annotated[Settings, Depends(_settings)]
BackendDep = Annotated[Backend, Depends(_backend)]
SessionSecretDep = Annotated[str, Depends(session_secret)]
