"""The server's secret key reaches services one way: on their database session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import chainproof.server.api as api_pkg
from chainproof.errors import ServiceError
from chainproof.server.db.session import SECRET_KEY_INFO
from chainproof.server.support import sealed


def test_services_read_the_secret_from_the_session() -> None:
    assert sealed.server_secret(Session(info={SECRET_KEY_INFO: "k" * 32})) == "k" * 32


def test_a_session_without_the_secret_is_refused_with_the_fix() -> None:
    with pytest.raises(ServiceError, match="secret key is not available") as caught:
        sealed.server_secret(Session())
    assert caught.value.hint is not None and "make_sessionmaker" in caught.value.hint


def test_api_handlers_never_hand_the_secret_to_services() -> None:
    handlers = Path(api_pkg.__file__).parent.glob("*.py")
    assert [p.name for p in handlers if "secret_key" in p.read_text()] == []
