"""A local-mode guestgate standing in for Microsoft Graph keeps Graph's invitation limit when
GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S is set: past it, POST /v1.0/invitations answers 429 with
Retry-After and Graph's TooManyRequests code, and nothing is stored; every tenant counts
alone, and the counter holds across two workers (it is kept in the database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
LIMIT = 4


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("standin")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(
        workdir=workdir,
        database_url=url,
        workers=2,
        extra_env={"GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S": str(LIMIT)},
    )
    server.start()
    yield server
    server.stop()


def invite(caller: Caller, email: str) -> tuple[int, dict[str, object], str | None]:
    answer = caller.request(
        "POST",
        "/v1.0/invitations",
        json={
            "invitedUserEmailAddress": email,
            "inviteRedirectUrl": "https://app.contoso.example",
            "sendInvitationMessage": False,
        },
    )
    return answer.status_code, answer.json(), answer.headers.get("retry-after")


def stored(caller: Caller, email: str) -> int:
    answer = caller.request("GET", "/v1.0/users", params={"$filter": f"mail eq '{email}'"})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["value"])


def test_past_the_limit_an_invitation_is_429_and_not_stored(server: Server) -> None:
    caller = Caller.demo(server)
    emails = [f"limit.{uuid.uuid4().hex[:8]}@fabrikam.example" for _ in range(LIMIT + 2)]
    answers = [invite(caller, e) for e in emails]
    assert [status for status, _, _ in answers[:LIMIT]] == [201] * LIMIT
    for (status, body, retry_after), email in zip(answers[LIMIT:], emails[LIMIT:], strict=True):
        assert status == 429, body
        assert body["error"]["code"] == "TooManyRequests"  # type: ignore[index]
        assert retry_after is not None
        assert 1 <= int(retry_after) <= 5
        assert stored(caller, email) == 0
    for email in emails[:LIMIT]:
        assert stored(caller, email) == 1
    # Another tenant has a counter of its own.
    domain = f"limit-{uuid.uuid4().hex[:6]}.example"
    server.cli("tenant", "create", "--name", "Other", "--domain", domain)
    other = Caller.new_app(server, domain, "User.Invite.All")
    status, body, _ = invite(other, f"other.{uuid.uuid4().hex[:8]}@fabrikam.example")
    assert status == 201, body
