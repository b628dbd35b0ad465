"""The app behind a real HTTP server on 127.0.0.1 (werkzeug in its own thread, real commits), for tests
that must cross real sockets: a headless browser, the SDK's default transport, an OID4VCI wallet."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tests.conftest import FakeClock
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import Base


@dataclass
class Running:
    app: Flask
    url: str
    clock: FakeClock

    def session(self) -> Session:
        """A session of the running app's own factory (its commits are visible to the server at once)."""
        return self.app.extensions["wallet"].session_factory()


@contextlib.contextmanager
def live_server(
    settings: Settings, engine: Engine, clock: FakeClock, *, tls: tuple[str, ssl.SSLContext] | None = None
) -> Iterator[Running]:
    """The app on a free port of 127.0.0.1, committing for real; every table is emptied afterwards.

    The port is found before the app is built because the app must know its own base URL (links, QR codes).
    ``tls`` (a host name and a server context for its certificate) serves https and makes the base URL
    ``https://<host>:<port>``, a public https origin whose clients must map the name to 127.0.0.1.
    """
    probe = make_server("127.0.0.1", 0, Flask("probe"))
    port = probe.server_port
    probe.server_close()
    base_url = f"https://{tls[0]}:{port}" if tls else f"http://127.0.0.1:{port}"
    app = create_app(Settings(**{**settings.__dict__, "base_url": base_url}), clock=clock, engine=engine)
    http = make_server("127.0.0.1", port, app, threaded=True, ssl_context=tls[1] if tls else None)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(app, base_url, clock)
    finally:
        http.shutdown()
        thread.join(timeout=10)
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
