"""A guestgate with mail going to a real SMTP sink, and a way to prove nothing changed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, database_for

TABLES = ("users", "invitations", "outbox", "redeem_sessions")


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    smtp = SmtpSink(smtputf8=True).start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    """The suites that use it (hostile input, token and page attacks) run on both databases."""
    workdir: Path = tmp_path_factory.mktemp("security")
    server = Server(
        workdir=workdir,
        database_url=database_for(request, workdir),
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_OUTBOX_RETRY_BASE": "1",
            "GUESTGATE_HEADER_TIMEOUT": "2",
            "GUESTGATE_BODY_TIMEOUT": "2",
            "GUESTGATE_LOG_LEVEL": "DEBUG",
            "GUESTGATE_KEY_REFRESH_SECONDS": "2",  # a key rotation reaches the server at once
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.demo(server)


class Unchanged:
    """Row counts of every table an invitation touches, plus the mail received."""

    def __init__(self, server: Server, sink: SmtpSink) -> None:
        self.server, self.sink = server, sink
        self.before = self.snapshot()

    def snapshot(self) -> tuple[dict[str, int], int]:
        counts = {t: count(self.server, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
        return counts, len(self.sink.received)

    def check(self, settle: float = 0.0) -> None:
        time.sleep(settle)
        assert self.snapshot() == self.before


@pytest.fixture
def unchanged(server: Server, sink: SmtpSink) -> Iterator[Unchanged]:
    """Asserts after the test that nothing was stored and no mail went out."""
    guard = Unchanged(server, sink)
    yield guard
    guard.check(settle=0.2)
