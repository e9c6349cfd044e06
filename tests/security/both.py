"""A guestgate process on SQLite or PostgreSQL, and reading what it stored, the same on both."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Server
from tests.e2e.smtp import SmtpSink

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database_for(request: pytest.FixtureRequest, workdir: Path) -> str:
    """A fresh database URL for the `request.param` dialect (the server migrates it)."""
    if request.param == "sqlite":
        return f"sqlite:///{workdir}/guestgate.db"
    url: str = request.getfixturevalue("postgres_url_factory")()
    return url


def start_server(
    request: pytest.FixtureRequest, workdir: Path, sink: SmtpSink, **extra: Any
) -> Iterator[Server]:
    env = {
        "GUESTGATE_SMTP_URL": sink.url,
        "GUESTGATE_OUTBOX_RETRY_BASE": "1",
        **extra.pop("extra_env", {}),
    }
    server = Server(
        workdir=workdir, database_url=database_for(request, workdir), extra_env=env, **extra
    )
    server.start()
    yield server
    server.stop()


def rows(server: Server, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run `sql` (``%s`` placeholders) against the server's database."""
    if server.database_url.startswith("sqlite:"):
        with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
            return list(conn.execute(sql.replace("%s", "?"), params).fetchall())
    with psycopg.connect(server.database_url) as conn:
        return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


def count(server: Server, sql: str, *params: Any) -> int:
    [(value,)] = rows(server, sql, *params)
    return int(value)


def redeem(server: Server, sink: SmtpSink, url: str, email: str, codes_before: int = 0) -> str:
    """A guest's whole journey through the pages; the final accept's Location."""
    guest = Guest(server)
    try:
        landing = guest.open(url)
        assert landing.status_code == 200, landing.text
        started = guest.submit(landing, "/redeem/start")
        assert started.status_code == 303, started.text
        code_page = guest.http.get("/redeem/code")
        assert code_page.status_code == 200, code_page.text
        code = latest_code(sink, email, codes_before + 1)
        verified = guest.submit(code_page, "/redeem/verify", code=code)
        assert verified.status_code == 303, verified.text
        consent = guest.http.get("/redeem/consent")
        assert consent.status_code == 200, consent.text
        accepted = guest.submit(consent, "/redeem/accept")
        assert accepted.status_code == 303, accepted.text
        # Every later open of the link leads on to the same place.
        again = guest.open(url)
        assert again.status_code == 303, again.text
        assert again.headers["location"] == accepted.headers["location"]
        return accepted.headers["location"]
    finally:
        guest.close()
