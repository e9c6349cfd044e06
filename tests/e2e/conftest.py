from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server
from tests.e2e.smtp import SmtpSink


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """guestgate over https with a dev certificate, SQLite, demo tenant."""
    workdir: Path = tmp_path_factory.mktemp("tls")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """guestgate over plain http on SQLite with the demo tenant."""
    workdir: Path = tmp_path_factory.mktemp("http")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) recording what it receives."""
    smtp = SmtpSink().start()
    yield smtp
    smtp.stop()
