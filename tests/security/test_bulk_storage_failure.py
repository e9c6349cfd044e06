"""A bulk call (`POST /api/InviteGuests`) whose one entry fails in the database after the
entries before it were committed, on SQLite and PostgreSQL.

The database itself refuses that entry's invitation: a trigger raises on its insert, as a
constraint, a full disk or a serialization failure would, with nothing in the process
faked. Every entry answers for itself, the call is no 500, and a client that retries the
same batch gets the committed entries' invitations back without a new invitation, a new
link or a second mail.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, start_server

pytestmark = pytest.mark.e2e
INVITED = "invited you to access applications"


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("bulk-storage"), sink)


def _execute(server: Server, *statements: str) -> None:
    if server.database_url.startswith("sqlite:"):
        with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
            for sql in statements:
                conn.execute(sql)
        return
    with psycopg.connect(server.database_url) as pg:
        for sql in statements:
            pg.execute(sql)  # type: ignore[arg-type]


def refuse_invitations_of(server: Server, address: str) -> None:
    """The database refuses to store an invitation of `address` (a trigger raises)."""
    if server.database_url.startswith("sqlite:"):
        _execute(
            server,
            "CREATE TRIGGER refuse_one BEFORE INSERT ON invitations"
            f" WHEN NEW.email = '{address}' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        return
    _execute(
        server,
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.email = '{address}' THEN RAISE EXCEPTION 'refused'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER refuse_one BEFORE INSERT ON invitations"
        " FOR EACH ROW EXECUTE FUNCTION refuse_one()",
    )


def allow_invitations_again(server: Server) -> None:
    if server.database_url.startswith("sqlite:"):
        _execute(server, "DROP TRIGGER refuse_one")
    else:
        _execute(server, "DROP TRIGGER refuse_one ON invitations", "DROP FUNCTION refuse_one()")


def mails_to(sink: SmtpSink, address: str) -> int:
    return len(sink.messages(to=address, subject_contains=INVITED))


def invitations_of(server: Server, address: str) -> int:
    return count(server, "SELECT COUNT(*) FROM invitations WHERE email = %s", address)


def post(caller: Caller, batch: dict[str, Any]) -> list[dict[str, Any]]:
    answer = caller.request("POST", "/api/InviteGuests", json=batch)
    assert answer.status_code == 200, answer.text
    value: list[dict[str, Any]] = answer.json()["value"]
    assert [item["index"] for item in value] == list(range(len(batch["invitations"])))
    return value


def test_a_retried_batch_after_one_entry_failed_in_storage_mails_no_one_twice(
    server: Server, sink: SmtpSink
) -> None:
    caller = Caller.demo(server)
    tag = uuid.uuid4().hex[:8]
    addresses = [f"bulk.{tag}.{i}@fabrikam.example" for i in range(4)]
    batch = {
        "invitations": [
            {
                "invitedUserEmailAddress": address,
                "inviteRedirectUrl": "https://app.example/",
                "sendInvitationMessage": True,
            }
            for address in addresses
        ]
    }
    refuse_invitations_of(server, addresses[2])
    try:
        first = post(caller, batch)
        assert [item["status"] for item in first] == [201, 201, 500, 201], first
        assert first[2]["error"]["code"] == "InternalServerError"
        assert "refused" not in str(first[2])  # the database's own words stay in the log
        for i in (0, 1, 3):
            sink.wait_for(1, to=addresses[i], subject_contains=INVITED)
        assert [invitations_of(server, a) for a in addresses] == [1, 1, 0, 1]
        assert count(server, "SELECT COUNT(*) FROM users WHERE mail = %s", addresses[2]) == 0

        again = post(caller, batch)
        assert [item["status"] for item in again] == [201, 201, 500, 201], again
        for i in (0, 1, 3):
            # The same invitation and the same link: the mailed one still works.
            assert again[i]["invitation"] == first[i]["invitation"]
    finally:
        allow_invitations_again(server)

    last = post(caller, batch)
    assert [item["status"] for item in last] == [201, 201, 201, 201], last
    for i in (0, 1, 3):
        assert last[i]["invitation"] == first[i]["invitation"]
    sink.wait_for(1, to=addresses[2], subject_contains=INVITED)
    time.sleep(3)  # the worker sends what is queued at once; give a second mail time to come
    assert [invitations_of(server, a) for a in addresses] == [1, 1, 1, 1]
    assert [mails_to(sink, a) for a in addresses] == [1, 1, 1, 1]
