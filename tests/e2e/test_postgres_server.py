"""guestgate on PostgreSQL with two worker processes: one guest per address under a race."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e.server import Caller, Server, race_invites

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_url_factory: Callable[[], str]
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("pg")
    server = Server(workdir=workdir, database_url=postgres_url_factory(), workers=2)
    server.start()
    yield server
    server.stop()


def test_seed_flow_on_postgres(pg_server: Server) -> None:
    caller = Caller.demo(pg_server)
    response = caller.invite(
        {
            "invitedUserEmailAddress": "seed@example.com",
            "inviteRedirectUrl": "https://google.at",
            "sendInvitationMessage": True,
        }
    )
    assert response.status_code == 201, response.text
    listed = caller.request("GET", "/api/invitations", params={"email": "seed@example.com"}).json()
    assert [i["invitedUser"]["id"] for i in listed["value"]] == [response.json()["id"]]


def test_twenty_concurrent_invites_make_one_guest_on_postgres(pg_server: Server) -> None:
    caller = Caller.demo(pg_server)
    email = f"race.{uuid.uuid4().hex[:8]}@example.com"
    spellings = [email, email.upper(), email.capitalize()]
    answers = race_invites(caller, spellings)
    assert {a.status_code for a in answers} == {201}, [
        a.text for a in answers if a.status_code != 201
    ]
    assert len({a.json()["id"] for a in answers}) == 1
    with psycopg.connect(pg_server.database_url) as conn:
        users = conn.execute("SELECT COUNT(*) FROM users WHERE email_key = %s", (email,)).fetchone()
        pending = conn.execute(
            "SELECT COUNT(*) FROM invitations i JOIN users u ON u.id = i.user_id"
            " WHERE u.email_key = %s AND i.status = 'PendingAcceptance'",
            (email,),
        ).fetchone()
    assert users is not None
    assert users[0] == 1
    assert pending is not None
    assert pending[0] == 1
