"""Approval on a running server, SQLite and PostgreSQL, with the real SMTP sink: every way in
answers 202 and stores and sends nothing else; the status URL for the asking app and an
auditor only; approve makes the invitation and mails guest and requester; decline tells the
requester; a decided request answers 409, an unknown one 404, a long comment 400."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guestgate.domain.apps import INVITE, READ_AUDIT, READWRITE_USERS, WRITE_POLICY
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_invitation_gate import counts

pytestmark = pytest.mark.e2e
HELD = "held.example"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("approval")
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


@pytest.fixture(scope="module")
def admin(server: Server) -> Caller:
    caller = Caller.new_app(server, "contoso.example", INVITE, WRITE_POLICY, READWRITE_USERS)
    answer = caller.request(
        "PATCH",
        "/api/policies/invitations",
        json={"guestgateApproval": {"requiredFor": [HELD], "requestLifetimeDays": 7}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["guestgateApproval"] == {
        "requiredFor": [HELD],
        "requestLifetimeDays": 7,
    }
    return caller


@pytest.fixture(scope="module")
def inviter(server: Server, admin: Caller) -> Caller:
    return Caller.new_app(server, "contoso.example", INVITE)


def guest() -> str:
    return f"g.{uuid.uuid4().hex[:10]}@{HELD}"


def requester() -> str:
    return f"adele.{uuid.uuid4().hex[:8]}@contoso.example"


def held(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"requestId", "status", "statusUrl"}
    assert body["status"] == "PendingApproval"
    assert body["statusUrl"].endswith(f"/api/approvals/{body['requestId']}")
    return body


def test_every_way_in_answers_202_and_stores_and_sends_nothing_else(
    server: Server, inviter: Caller, sink: SmtpSink
) -> None:
    before = counts(server)
    addresses = [guest() for _ in range(5)]
    held(inviter.invite({"invitedUserEmailAddress": addresses[0], "sendInvitationMessage": True}))
    held(
        inviter.request(
            "POST",
            "/v1.0/invitations",
            json={
                "invitedUserEmailAddress": addresses[1],
                "inviteRedirectUrl": "https://contoso.example",
                "sendInvitationMessage": True,
            },
        )
    )
    bulk = inviter.request(
        "POST",
        "/api/InviteGuests",
        json={"invitations": [{"invitedUserEmailAddress": addresses[2]}]},
    )
    assert bulk.status_code == 200, bulk.text
    [item] = bulk.json()["value"]
    assert (item["index"], item["status"], item["approval"]["status"]) == (
        0,
        202,
        "PendingApproval",
    )
    cli = server.cli("invite", addresses[3], "--tenant", "contoso.example", "--send", "--json")
    assert json.loads(cli.stdout)["status"] == "PendingApproval"
    after = counts(server)
    # Only the audit trail grows (approval.request); no user, invitation, event or mail.
    assert {k: after[k] - before[k] for k in after} == {
        "users": 0,
        "invitations": 0,
        "audit_events": 4,
        "events": 0,
        "outbox": 0,
    }
    assert all(sink.messages(to=a) == [] for a in addresses)


def test_the_status_url_answers_the_asking_app_and_an_auditor_only(
    server: Server, inviter: Caller
) -> None:
    body = held(inviter.invite({"invitedUserEmailAddress": guest()}))
    path = f"/api/approvals/{body['requestId']}"
    state = inviter.request("GET", path)
    assert state.status_code == 200, state.text
    assert state.json()["status"] == "PendingApproval"
    stranger = Caller.new_app(server, "contoso.example", INVITE)
    assert stranger.request("GET", path).status_code == 404
    auditor = Caller.new_app(server, "contoso.example", READ_AUDIT)
    assert auditor.request("GET", path).json()["requestId"] == body["requestId"]
    server.cli("tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example")
    other_tenant = Caller.new_app(server, "fabrikam.example", READ_AUDIT)
    assert other_tenant.request("GET", path).status_code == 404
    # Deciding needs User.ReadWrite.All: the inviting app cannot approve its own request.
    refused = inviter.request("POST", f"{path}/approve", json={})
    assert refused.status_code == 403, refused.text


def test_approve_makes_the_invitation_and_mails_guest_and_requester(
    server: Server, admin: Caller, inviter: Caller, sink: SmtpSink
) -> None:
    address, boss = guest(), requester()
    body = held(
        inviter.invite(
            {
                "invitedUserEmailAddress": address,
                "sendInvitationMessage": True,
                "requestedBy": boss,
            }
        )
    )
    path = f"/api/approvals/{body['requestId']}"
    approved = admin.request("POST", f"{path}/approve", json={"comment": "A known partner"})
    assert approved.status_code == 200, approved.text
    answer = approved.json()
    assert (answer["status"], answer["comment"]) == ("Approved", "A known partner")
    invitation = answer["invitation"]
    assert invitation["invitedUserEmailAddress"] == address
    assert invitation["inviteRedeemUrl"].startswith(server.base_url)
    [mail] = sink.wait_for(to=address)
    assert invitation["inviteRedeemUrl"] in mail.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    [notice] = sink.wait_for(to=boss)
    assert notice["Subject"] == f"Your invitation of {address} was approved"
    assert "A known partner" in notice.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    # The asking app reads the same answer at the status URL.
    assert inviter.request("GET", path).json()["invitation"]["id"] == invitation["id"]
    again = admin.request("POST", f"{path}/decline", json={"comment": "late"})
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "ApprovalAlreadyDecided"


def test_decline_tells_the_requester_and_makes_nothing(
    server: Server, admin: Caller, inviter: Caller, sink: SmtpSink
) -> None:
    address, boss = guest(), requester()
    body = held(
        inviter.invite(
            {
                "invitedUserEmailAddress": address,
                "sendInvitationMessage": True,
                "requestedBy": boss,
            }
        )
    )
    path = f"/api/approvals/{body['requestId']}"
    before = counts(server)
    declined = admin.request("POST", f"{path}/decline", json={"comment": "Use the partner portal"})
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "Declined"
    [notice] = sink.wait_for(to=boss)
    assert notice["Subject"] == f"Your invitation of {address} was declined"
    assert "Use the partner portal" in notice.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    after = counts(server)
    assert (after["users"], after["invitations"]) == (before["users"], before["invitations"])
    assert inviter.request("GET", path).json()["comment"] == "Use the partner portal"
    assert sink.messages(to=address) == []


def test_bad_input_answers_4xx_and_changes_nothing(
    server: Server, admin: Caller, inviter: Caller
) -> None:
    body = held(inviter.invite({"invitedUserEmailAddress": guest()}))
    path = f"/api/approvals/{body['requestId']}"
    before = counts(server)
    for method, url, payload, status, code in (
        ("POST", "/api/approvals/not-an-id/approve", {}, 404, "ApprovalRequestNotFound"),
        ("POST", f"/api/approvals/{uuid.uuid4()}/decline", {}, 404, "ApprovalRequestNotFound"),
        ("POST", f"{path}/approve", {"comment": "x" * 1001}, 400, "InvalidApprovalComment"),
        ("POST", f"{path}/approve", {"comment": 7}, 400, None),
        ("POST", f"{path}/approve", {"note": "hi"}, 400, None),
        ("GET", f"/api/approvals/{uuid.uuid4()}", None, 404, "ApprovalRequestNotFound"),
    ):
        answer = admin.request(method, url, json=payload)
        assert answer.status_code == status, (url, answer.text)
        if code is not None:
            assert answer.json()["error"]["code"] == code
    assert counts(server) == before
    assert inviter.request("GET", path).json()["status"] == "PendingApproval"
    for bad, where in (
        ({"requiredFor": "everyone"}, "guestgateApproval.requiredFor"),
        ({"requiredFor": ["x"]}, "guestgateApproval.requiredFor[0]"),
        ({"requestLifetimeDays": 365}, "guestgateApproval.requestLifetimeDays"),
    ):
        refused = admin.request(
            "PATCH", "/api/policies/invitations", json={"guestgateApproval": bad}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "InvalidInvitationPolicy"
        assert where in refused.json()["error"]["message"]


def test_the_cli_sets_shows_and_clears_the_approval_rule(server: Server, admin: Caller) -> None:
    tenant = ("--tenant", "contoso.example", "--json")
    shown = server.cli("policy", "set", *tenant, "--approval-for", "outside-allowed")
    assert json.loads(shown.stdout)["approval"]["requiredFor"] == "outsideAllowed"
    bad = server.cli("policy", "set", *tenant, "--approval-for", "no-dot", check=False)
    assert bad.returncode == 1
    assert "--approval-for.requiredFor[0]" in bad.stderr
    server.cli("policy", "set", *tenant, "--approval-for", "")
    assert json.loads(server.cli("policy", "show", *tenant).stdout)["approval"] is None
    server.cli("policy", "set", *tenant, "--approval-for", HELD, "--approval-days", "7")
    assert json.loads(server.cli("policy", "show", *tenant).stdout)["approval"] == {
        "requiredFor": [HELD],
        "requestLifetimeDays": 7,
    }


def press(answers: list[Any], i: int, who: Caller, url: str) -> None:
    answers[i] = who.request("POST", url, json={"comment": f"by {i}"})


def test_two_approvers_racing_over_http_get_one_200_and_one_409(
    server: Server, admin: Caller, inviter: Caller
) -> None:
    other = Caller.new_app(server, "contoso.example", READWRITE_USERS)
    for verbs in (("approve", "approve"), ("approve", "decline"), ("decline", "decline")):
        body = held(inviter.invite({"invitedUserEmailAddress": guest()}))
        path = f"/api/approvals/{body['requestId']}"
        before = counts(server)
        answers: list[Any] = [None, None]

        threads = [
            threading.Thread(target=press, args=(answers, 0, admin, f"{path}/{verbs[0]}")),
            threading.Thread(target=press, args=(answers, 1, other, f"{path}/{verbs[1]}")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        [won] = [a.json() for a in answers if a.status_code == 200]
        stored = inviter.request("GET", path).json()
        assert (stored["status"], stored["comment"]) == (won["status"], won["comment"])
        made = counts(server)["invitations"] - before["invitations"]
        assert made == (1 if stored["status"] == "Approved" else 0)
