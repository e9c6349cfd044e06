"""requestedBy over the API: strangers are audited, not mailed; a bulk call mails one summary."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("requester")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(
        workdir=workdir,
        database_url=url,
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_MAIL_FROM": "invites@contoso.example",
        },
    )
    server.start()
    yield server
    server.stop()


def guest() -> str:
    return f"guest.{uuid.uuid4().hex[:10]}@example.com"


def outbox(server: Server) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        server.cli("outbox", "list", "--limit", "1000", "--json").stdout
    )
    return rows


def audit_of(server: Server, request_id: str) -> list[dict[str, Any]]:
    events = json.loads(
        server.cli(
            "audit", "list", "--tenant", "contoso.example", "--limit", "1000", "--json"
        ).stdout
    )
    return [e for e in events if e["request_id"] == request_id]


def test_a_stranger_in_requested_by_is_audited_and_never_mailed(
    server: Server, sink: SmtpSink
) -> None:
    caller = Caller.demo(server)
    stranger = f"stranger.{uuid.uuid4().hex[:8]}@elsewhere.example"
    for send in (False, True):
        answer = caller.invite(
            {
                "invitedUserEmailAddress": guest(),
                "sendInvitationMessage": send,
                "requestedBy": stranger,
            }
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["requestedBy"] == stranger
        [event] = audit_of(server, answer.headers["request-id"])
        assert event["actor"] == stranger
        assert event["details"]["requesterNotice"] == "withheld"
    # Someone of the organization is told; by the time that mail arrives, nothing went out
    # to the stranger, and the outbox holds nothing for them.
    colleague = f"adele.{uuid.uuid4().hex[:8]}@contoso.example"
    invited = guest()
    answer = caller.invite({"invitedUserEmailAddress": invited, "requestedBy": colleague})
    [notice] = sink.wait_for(to=colleague)
    assert notice["Subject"] == f"{invited} has been invited to your organization"
    assert [
        e["details"]["requesterNotice"] for e in audit_of(server, answer.headers["request-id"])
    ] == ["queued"]
    assert sink.messages(to=stranger) == []
    assert [r for r in outbox(server) if r["recipient"] == stranger] == []


def test_a_bulk_call_of_200_mails_its_requester_one_summary(server: Server, sink: SmtpSink) -> None:
    caller = Caller.demo(server)
    boss = f"boss.{uuid.uuid4().hex[:8]}@contoso.example"
    guests = [guest() for _ in range(200)]
    answer = caller.request(
        "POST",
        "/api/InviteGuests",
        json={"invitations": [{"invitedUserEmailAddress": g, "requestedBy": boss} for g in guests]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["succeeded"] == 200
    [summary] = sink.wait_for(to=boss)
    assert summary["Subject"] == "Guests invited to Contoso at your request: 200"
    text = summary.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert all(f"- {g}" in text for g in guests)
    rows = [r for r in outbox(server) if r["recipient"] == boss]
    # Everything a call queues is stored before it answers: this is all boss will get.
    assert [r["kind"] for r in rows] == ["requester_summary"]
    events = audit_of(server, answer.headers["request-id"])
    assert len(events) == 200
    assert {e["details"]["requesterNotice"] for e in events} == {"summary"}
    assert len(sink.messages(to=boss)) == 1
