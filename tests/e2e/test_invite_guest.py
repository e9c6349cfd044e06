"""POST /api/InviteGuest and the invitation resources, against a running guestgate."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Caller, Server, race_invites

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("invite")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", workers=2)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.demo(server)


def row_counts(server: Server) -> dict[str, int]:
    path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("users", "invitations", "audit_events")
        }


def unique_email() -> str:
    return f"guest.{uuid.uuid4().hex[:10]}@example.com"


def test_seed_payload_gives_the_seed_answer(caller: Caller, server: Server) -> None:
    email = unique_email()
    response = caller.invite(
        {
            "invitedUserEmailAddress": email,
            "inviteRedirectUrl": "https://google.at",
            "sendInvitationMessage": True,
        }
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], str)
    uuid.UUID(body["id"])
    assert body["invitedUserEmailAddress"] == email
    assert body["status"] == "PendingAcceptance"
    assert body["sendInvitationMessage"] is True
    tid = server.demo_credentials()["TenantID"]
    prefix = f"{server.base_url}/redeem/?tenant={tid}&user={body['id']}&ticket="
    assert body["inviteRedeemUrl"].startswith(prefix)
    assert body["inviteRedeemUrl"].endswith("&ver=2.0")
    assert len(body["inviteRedeemUrl"][len(prefix) : -len("&ver=2.0")]) == 43


def test_full_payload_of_the_later_contract(caller: Caller) -> None:
    response = caller.invite(
        {
            "invitedUserDisplayName": "John Doe",
            "invitedUserEmailAddress": "john.doe." + uuid.uuid4().hex[:6] + "@gmail.com",
            "inviteRedirectUrl": "https://mycompany.com/guestinfo",
            "sendInvitationMessage": True,
            "requestedBy": "adele.vance@mycompany.com",
            "more": {"somecustomkey1": "some custom data1", "somecustomkey2": "some custom data2"},
        }
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invitedUserDisplayName"] == "John Doe"
    assert body["requestedBy"] == "adele.vance@mycompany.com"
    assert body["more"] == {
        "somecustomkey1": "some custom data1",
        "somecustomkey2": "some custom data2",
    }
    fetched = caller.request("GET", f"/api/invitations/{body['invitationId']}").json()
    assert fetched["more"] == body["more"]
    assert fetched["inviteRedirectUrl"] == "https://mycompany.com/guestinfo"
    assert fetched["status"] == "PendingAcceptance"


def test_reinvite_same_id_new_ticket(caller: Caller, server: Server) -> None:
    email = unique_email()
    first = caller.invite({"invitedUserEmailAddress": email}).json()
    before = row_counts(server)
    second = caller.invite({"invitedUserEmailAddress": email.upper()})
    assert second.status_code == 201
    assert second.json()["id"] == first["id"]
    assert second.json()["inviteRedeemUrl"] != first["inviteRedeemUrl"]
    assert row_counts(server)["users"] == before["users"]
    old = caller.request("GET", f"/api/invitations/{first['invitationId']}").json()
    assert old["status"] == "Revoked"


LONG_LOCAL = "x" * 65 + "@example.com"
REJECTIONS: list[tuple[str, Any, int, str]] = [
    ("missing email", {}, 400, "InvalidEmailAddress"),
    ("empty email", {"invitedUserEmailAddress": ""}, 400, "InvalidEmailAddress"),
    ("bad email", {"invitedUserEmailAddress": "plainaddress"}, 400, "InvalidEmailAddress"),
    (
        "display-name form",
        {"invitedUserEmailAddress": "Alice <a@b.com>"},
        400,
        "InvalidEmailAddress",
    ),
    (
        "crlf email",
        {"invitedUserEmailAddress": "a@b.com\r\nBcc: x@evil.com"},
        400,
        "InvalidEmailAddress",
    ),
    ("long local part", {"invitedUserEmailAddress": LONG_LOCAL}, 400, "InvalidEmailAddress"),
    ("email as number", {"invitedUserEmailAddress": 123}, 400, "InvalidRequestBody"),
    ("email as null", {"invitedUserEmailAddress": None}, 400, "InvalidEmailAddress"),
    (
        "send as string",
        {"invitedUserEmailAddress": "a@b.com", "sendInvitationMessage": "true"},
        400,
        "InvalidRequestBody",
    ),
    (
        "javascript redirect",
        {"invitedUserEmailAddress": "a@b.com", "inviteRedirectUrl": "javascript:alert(1)"},
        400,
        "InvalidRedirectUrl",
    ),
    (
        "http redirect",
        {"invitedUserEmailAddress": "a@b.com", "inviteRedirectUrl": "http://example.com"},
        400,
        "InvalidRedirectUrl",
    ),
    (
        "userinfo redirect",
        {"invitedUserEmailAddress": "a@b.com", "inviteRedirectUrl": "https://good.com@evil.com"},
        400,
        "InvalidRedirectUrl",
    ),
    (
        "long name",
        {"invitedUserEmailAddress": "a@b.com", "invitedUserDisplayName": "n" * 257},
        400,
        "InvalidDisplayName",
    ),
    (
        "crlf name",
        {"invitedUserEmailAddress": "a@b.com", "invitedUserDisplayName": "Eve\r\nBcc: v@evil.com"},
        400,
        "InvalidDisplayName",
    ),
    (
        "bidi name",
        {"invitedUserEmailAddress": "a@b.com", "invitedUserDisplayName": "abc\u202edcb"},
        400,
        "InvalidDisplayName",
    ),
    (
        "bad requestedBy",
        {"invitedUserEmailAddress": "a@b.com", "requestedBy": "nobody"},
        400,
        "InvalidRequestedBy",
    ),
    (
        "more too large",
        {"invitedUserEmailAddress": "a@b.com", "more": {"k": "v" * 4000}},
        400,
        "MoreTooLarge",
    ),
    (
        "more not object",
        {"invitedUserEmailAddress": "a@b.com", "more": ["a"]},
        400,
        "InvalidRequestBody",
    ),
    (
        "two cc",
        {
            "invitedUserEmailAddress": "a@b.com",
            "invitedUserMessageInfo": {
                "ccRecipients": [
                    {"emailAddress": {"address": "c@d.com"}},
                    {"emailAddress": {"address": "e@f.com"}},
                ]
            },
        },
        400,
        "TooManyCcRecipients",
    ),
    (
        "bad language",
        {
            "invitedUserEmailAddress": "a@b.com",
            "invitedUserMessageInfo": {"messageLanguage": "../../etc/passwd"},
        },
        400,
        "InvalidMessageLanguage",
    ),
    (
        "own domain",
        {"invitedUserEmailAddress": "someone@contoso.example"},
        400,
        "AddressInTenantDomain",
    ),
]


@pytest.mark.parametrize(
    ("name", "payload", "status", "code"), REJECTIONS, ids=[r[0] for r in REJECTIONS]
)
def test_every_rule_rejects_and_stores_nothing(
    caller: Caller, server: Server, name: str, payload: Any, status: int, code: str
) -> None:
    before = row_counts(server)
    response = caller.invite(payload)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["message"] == body["error"]["message"]
    assert set(body["error"]["innerError"]) == {"request-id", "date"}
    assert row_counts(server) == before


RAW_REJECTIONS: list[tuple[str, bytes, str, int, str]] = [
    (
        "duplicate keys",
        b'{"invitedUserEmailAddress":"a@ok.com","invitedUserEmailAddress":"b@x.com"}',
        "application/json",
        400,
        "DuplicateJsonKey",
    ),
    ("malformed", b'{"invitedUserEmailAddress":', "application/json", 400, "InvalidJson"),
    (
        "NaN",
        b'{"invitedUserEmailAddress":"a@b.com","more":{"x":NaN}}',
        "application/json",
        400,
        "InvalidJson",
    ),
    (
        "deep nesting",
        b'{"more":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001,
        "application/json",
        400,
        "InvalidJson",
    ),
    ("huge number", b'{"more":{"a":' + b"9" * 5000 + b"}}", "application/json", 400, "InvalidJson"),
    (
        "NUL",
        b'{"invitedUserEmailAddress":"a\\u0000@b.com"}',
        "application/json",
        400,
        "InvalidJson",
    ),
    (
        "lone surrogate",
        b'{"invitedUserEmailAddress":"a@b.com","invitedUserDisplayName":"\\ud800"}',
        "application/json",
        400,
        "InvalidJson",
    ),
    (
        "invalid utf-8",
        b'{"invitedUserEmailAddress":"\xff@b.com"}',
        "application/json",
        400,
        "InvalidJson",
    ),
    ("array", b"[]", "application/json", 400, "InvalidJson"),
    (
        "text/plain",
        b'{"invitedUserEmailAddress":"a@b.com"}',
        "text/plain",
        415,
        "UnsupportedMediaType",
    ),
    (
        "form",
        b"invitedUserEmailAddress=a@b.com",
        "application/x-www-form-urlencoded",
        415,
        "UnsupportedMediaType",
    ),
    (
        "oversize",
        b'{"more":{"a":"' + b"x" * 70_000 + b'"}}',
        "application/json",
        413,
        "RequestTooLarge",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "content_type", "status", "code"),
    RAW_REJECTIONS,
    ids=[r[0] for r in RAW_REJECTIONS],
)
def test_hostile_bodies_are_4xx_and_store_nothing(
    caller: Caller,
    server: Server,
    name: str,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    before = row_counts(server)
    response = caller.request(
        "POST", "/api/InviteGuest", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert row_counts(server) == before


def test_methods_other_than_post_are_405_with_allow(caller: Caller) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = caller.request(method, "/api/InviteGuest")
        assert response.status_code == 405
        assert "POST" in response.headers["allow"]


def test_permission_and_token_rules(server: Server) -> None:
    reader = Caller.new_app(server, "contoso.example", "User.Read.All")
    before = row_counts(server)
    denied = reader.invite({"invitedUserEmailAddress": unique_email()})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    assert row_counts(server) == before
    assert reader.request("GET", "/api/invitations").status_code == 200
    inviter = Caller.new_app(server, "contoso.example", "User.Invite.All")
    assert inviter.request("GET", "/api/invitations").status_code == 403
    with server.client() as client:
        anonymous = client.post(
            "/api/InviteGuest", json={"invitedUserEmailAddress": unique_email()}
        )
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_a_token_acts_only_on_its_own_tenant(server: Server, caller: Caller) -> None:
    server.cli("tenant", "create", "--name", "Northwind", "--domain", "northwind.example")
    other = Caller.new_app(server, "northwind.example", "User.Invite.All", "User.Read.All")
    mine = caller.invite(
        {"invitedUserEmailAddress": unique_email(), "tenantId": other.tenant}
    ).json()
    assert other.request("GET", f"/api/invitations/{mine['invitationId']}").status_code == 404
    assert (
        other.request("POST", f"/api/invitations/{mine['invitationId']}/revoke").status_code == 404
    )
    assert mine["inviteRedeemUrl"].split("tenant=")[1].startswith(caller.tenant)
    listed = other.request("GET", "/api/invitations").json()["value"]
    assert mine["invitationId"] not in {i["id"] for i in listed}


def test_resend_revoke_and_list(caller: Caller) -> None:
    email = unique_email()
    created = caller.invite({"invitedUserEmailAddress": email}).json()
    iid = created["invitationId"]
    resent = caller.request("POST", f"/api/invitations/{iid}/resend")
    assert resent.status_code == 200
    assert resent.json()["inviteRedeemUrl"] != created["inviteRedeemUrl"]
    filtered = caller.request(
        "GET", "/api/invitations", params={"email": email.upper(), "status": "PendingAcceptance"}
    ).json()
    assert [i["id"] for i in filtered["value"]] == [iid]
    revoked = caller.request("POST", f"/api/invitations/{iid}/revoke")
    assert revoked.json()["status"] == "Revoked"
    again = caller.request("POST", f"/api/invitations/{iid}/resend")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "InvitationNotPending"
    assert caller.request("GET", f"/api/invitations/{uuid.uuid4()}").status_code == 404
    assert caller.request("GET", "/api/invitations/not-a-guid").status_code == 404
    assert caller.request("GET", "/api/invitations", params={"status": "Bogus"}).status_code == 400
    assert caller.request("GET", "/api/invitations", params={"top": 0}).status_code == 400
    assert caller.request("GET", "/api/invitations", params={"top": 1000}).status_code == 400


def test_keyset_paging_follows_next_links_and_refuses_tampering(
    caller: Caller, server: Server
) -> None:
    for _ in range(5):
        caller.invite({"invitedUserEmailAddress": unique_email()})
    seen: list[str] = []
    url: str | None = "/api/invitations?top=2"
    pages = 0
    while url and pages < 100:
        page = caller.request("GET", url.removeprefix(server.base_url)).json()
        seen += [i["id"] for i in page["value"]]
        url = page.get("next")
        pages += 1
    assert len(seen) == len(set(seen)) >= 5
    first = caller.request("GET", "/api/invitations?top=1").json()["next"]
    token = first.split("skiptoken=")[1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = caller.request("GET", f"/api/invitations?top=1&skiptoken={tampered}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidSkipToken"


def test_twenty_concurrent_invites_across_two_workers_make_one_guest(
    caller: Caller, server: Server
) -> None:
    email = unique_email()
    spellings = [email, email.upper(), email.title()]
    answers = race_invites(caller, spellings)
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        users = conn.execute(
            "SELECT COUNT(*) FROM users WHERE email_key = ?", (email.lower(),)
        ).fetchone()[0]
        pending = conn.execute(
            "SELECT COUNT(*) FROM invitations i JOIN users u ON u.id = i.user_id"
            " WHERE u.email_key = ? AND i.status = 'PendingAcceptance'",
            (email.lower(),),
        ).fetchone()[0]
    assert users == 1
    assert pending == 1


def test_audit_trail_records_app_requester_and_request_id(caller: Caller, server: Server) -> None:
    response = caller.invite(
        {"invitedUserEmailAddress": unique_email(), "requestedBy": "adele.vance@mycompany.com"}
    )
    events = json.loads(server.cli("audit", "list", "--tenant", "contoso.example", "--json").stdout)
    event = next(e for e in events if e["request_id"] == response.headers["request-id"])
    assert event["action"] == "invitation.create"
    assert event["app_id"] == server.demo_credentials()["AppID"]
    assert event["actor"] == "adele.vance@mycompany.com"
    assert event["target"] == response.json()["id"]


def test_bulk_invites_report_each_entry_and_store_only_the_good_ones(
    caller: Caller, server: Server
) -> None:
    good = [unique_email() for _ in range(3)]
    before = row_counts(server)
    response = caller.request(
        "POST",
        "/api/InviteGuests",
        json={
            "invitations": [
                {"invitedUserEmailAddress": good[0], "inviteRedirectUrl": "https://google.at"},
                {"invitedUserEmailAddress": "not-an-address"},
                {"invitedUserEmailAddress": good[1], "more": {"row": 3}},
                {"invitedUserEmailAddress": "someone@contoso.example"},
                {"invitedUserEmailAddress": good[2], "inviteRedirectUrl": "javascript:alert(1)"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 3)
    by_index = {item["index"]: item for item in body["value"]}
    assert by_index[0]["status"] == 201
    assert by_index[0]["invitation"]["invitedUserEmailAddress"] == good[0]
    assert by_index[1]["error"]["code"] == "InvalidEmailAddress"
    assert by_index[2]["invitation"]["more"] == {"row": 3}
    assert by_index[3]["error"]["code"] == "AddressInTenantDomain"
    assert by_index[4]["error"]["code"] == "InvalidRedirectUrl"
    after = row_counts(server)
    assert after["users"] == before["users"] + 2
    assert after["invitations"] == before["invitations"] + 2
    assert after["audit_events"] == before["audit_events"] + 2


def test_a_bulk_entry_without_an_address_refuses_the_whole_call(
    caller: Caller, server: Server
) -> None:
    before = row_counts(server)
    response = caller.request(
        "POST",
        "/api/InviteGuests",
        json={"invitations": [{"invitedUserEmailAddress": unique_email()}, {"more": None}]},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidEmailAddress"
    assert error["message"] == "invitations[1].invitedUserEmailAddress is required."
    assert row_counts(server) == before


def test_bulk_size_limits(caller: Caller) -> None:
    empty = caller.request("POST", "/api/InviteGuests", json={"invitations": []})
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "InvalidBulkSize"
    too_many = caller.request(
        "POST",
        "/api/InviteGuests",
        json={
            "invitations": [{"invitedUserEmailAddress": f"x{i}@example.com"} for i in range(501)]
        },
    )
    assert too_many.status_code == 400
    reader = Caller.new_app(caller.server, "contoso.example", "User.Read.All")
    denied = reader.request(
        "POST",
        "/api/InviteGuests",
        json={"invitations": [{"invitedUserEmailAddress": "a@example.com"}]},
    )
    assert denied.status_code == 403
