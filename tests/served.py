"""An ASGI app served by uvicorn in a thread on a free loopback port, for tests that need real
HTTP (keep-alive, timing, background tasks run after the answer) rather than TestClient."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def served(app: Any, **options: Any) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 until the block ends; its port. ``options`` go to
    ``uvicorn.Config`` (``lifespan`` is off and ``log_level`` warning unless given)."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    options = {"lifespan": "off", "log_level": "warning", **options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)
