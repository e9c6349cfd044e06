"""Hostile input on every endpoint and form: a clear 4xx, nothing stored, nothing sent."""

from __future__ import annotations

import contextlib
import copy
import socket
import threading
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.conftest import Unchanged

pytestmark = pytest.mark.e2e

BASE: dict[str, Any] = {
    "invitedUserEmailAddress": "hostile.target@example.com",
    "invitedUserDisplayName": "Hostile Target",
    "inviteRedirectUrl": "https://example.com/welcome",
    "sendInvitationMessage": True,
    "invitedUserMessageInfo": {
        "customizedMessageBody": "Welcome",
        "messageLanguage": "en-US",
        "ccRecipients": [{"emailAddress": {"address": "cc.person@example.com"}}],
    },
}

# Where each field sits in the body, and the error code a bad value there gets.
FIELDS: dict[str, tuple[tuple[str | int, ...], str]] = {
    "email": (("invitedUserEmailAddress",), "InvalidEmailAddress"),
    "displayName": (("invitedUserDisplayName",), "InvalidDisplayName"),
    "redirect": (("inviteRedirectUrl",), "InvalidRedirectUrl"),
    "language": (("invitedUserMessageInfo", "messageLanguage"), "InvalidMessageLanguage"),
    "cc": (
        ("invitedUserMessageInfo", "ccRecipients", 0, "emailAddress", "address"),
        "InvalidCcRecipient",
    ),
}

HOSTILE = {
    "crlf header": "a\r\nBcc: victim@evil.test",
    "bare lf": "a\nb",
    "escape": "a\x1b[31mb",
    "delete": "a\x7fb",
    "c1 next line": "a\x85b",
    "line separator": "a\u2028b",
    "bidi override": "a\u202eb",
    "overlong": "a" * 10_000,
    "space only": "   ",
}


def put(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_strings_in_every_field(
    caller: Caller, unchanged: Unchanged, field: str, value: str
) -> None:
    path, code = FIELDS[field]
    for endpoint in ("/api/InviteGuest", "/v1.0/invitations"):
        answer = caller.request("POST", endpoint, json=put(BASE, path, value))
        assert answer.status_code == 400, (endpoint, answer.text)
        assert error_code(answer) == code
        assert answer.json()["error"]["message"]


def test_bulk_reports_each_hostile_entry_and_stores_none(
    caller: Caller, unchanged: Unchanged
) -> None:
    entries = [put(BASE, FIELDS[field][0], value) for field in FIELDS for value in HOSTILE.values()]
    answer = caller.request("POST", "/api/InviteGuests", json={"invitations": entries})
    assert answer.status_code in (200, 207, 400), answer.text
    results = answer.json().get("value") or answer.json().get("results")
    assert results is not None, answer.text
    assert len(results) == len(entries)
    assert all(r["status"] == 400 for r in results), results


def test_message_line_breaks_and_markup_never_reach_a_header(
    caller: Caller, server: Server, sink: SmtpSink
) -> None:
    """Line breaks are fine in a message body (it is text), but only in the body."""
    email = f"header.{uuid.uuid4().hex[:8]}@example.com"
    name = "Eve =?UTF-8?Q?=0A?=Bcc: injected@evil.test"
    answer = caller.invite(
        put(
            put(
                put(BASE, ("invitedUserEmailAddress",), email),
                ("invitedUserMessageInfo", "customizedMessageBody"),
                "Line one\r\nBcc: victim@evil.test\r\n\r\n<script>alert(1)</script>{{7*7}}",
            ),
            ("invitedUserDisplayName",),
            name,
        )
    )
    assert answer.status_code == 201, answer.text
    message = sink.wait_for(1, to=email)[0]
    received = next(r for r in sink.received if email in r.message["To"])
    assert sorted(received.rcpt_tos) == sorted([email, "cc.person@example.com"])
    assert "Bcc" not in message
    assert message.get_all("To")
    assert len(message.get_all("To")) == 1
    assert "victim@evil.test" not in str(message["To"]) + str(message["Cc"])
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "{{7*7}}" in html


def test_unicode_mailbox_is_mailed_with_smtputf8(caller: Caller, sink: SmtpSink) -> None:
    email = f"zoë.{uuid.uuid4().hex[:8]}@bücher.example"
    answer = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True})
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sink.lock:
            got = [r for r in sink.received if email in r.rcpt_tos]
        if got:
            break
        time.sleep(0.1)
    assert got, "the message to a UTF-8 mailbox never arrived"
    headers = got[0].data.split(b"\r\n\r\n", 1)[0]
    assert f"<{email}>".encode() in headers or f"To: {email}".encode() in headers


NORMALISED_PAIRS = [
    ("Alice.{n}@Example.COM", "alice.{n}@example.com"),
    ("zo\u00eb.{n}@example.com", "zoe\u0308.{n}@example.com"),
    ("a.{n}@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "a.{n}@example.com"),
    ("\u212aelvin.{n}@example.com", "kelvin.{n}@example.com"),
    ("b\u00fccher.{n}@B\u00dcCHER.example", "b\u00fccher.{n}@xn--bcher-kva.example"),
]
DISTINCT_PAIRS = [
    ("stra\u00dfe.{n}@example.com", "strasse.{n}@example.com"),
    ("alice.{n}+hr@example.com", "alice.{n}@example.com"),
    ("alice.{n}@ex\u0430mple.com", "alice.{n}@example.com"),  # Cyrillic а
]


@pytest.mark.parametrize(("first", "second"), NORMALISED_PAIRS)
def test_spellings_of_one_address_are_one_guest(caller: Caller, first: str, second: str) -> None:
    n = uuid.uuid4().hex[:8]
    one = caller.invite({"invitedUserEmailAddress": first.format(n=n)})
    two = caller.invite({"invitedUserEmailAddress": second.format(n=n)})
    assert one.status_code == two.status_code == 201, (one.text, two.text)
    assert one.json()["invitedUser"]["id"] == two.json()["invitedUser"]["id"]


@pytest.mark.parametrize(("first", "second"), DISTINCT_PAIRS)
def test_different_mailboxes_stay_different_guests(caller: Caller, first: str, second: str) -> None:
    n = uuid.uuid4().hex[:8]
    one = caller.invite({"invitedUserEmailAddress": first.format(n=n)})
    two = caller.invite({"invitedUserEmailAddress": second.format(n=n)})
    assert one.status_code == two.status_code == 201, (one.text, two.text)
    assert one.json()["invitedUser"]["id"] != two.json()["invitedUser"]["id"]


def test_look_alike_domain_is_recorded_as_its_a_label(caller: Caller) -> None:
    n = uuid.uuid4().hex[:8]
    answer = caller.invite({"invitedUserEmailAddress": f"x.{n}@ex\u0430mple.com"}).json()
    user = caller.request("GET", f"/v1.0/users/{answer['invitedUser']['id']}").json()
    assert "xn--exmple-4nf.com" in user["userPrincipalName"].lower()


@pytest.mark.parametrize(
    "address",
    [
        "a@example.com.",
        "a@localhost",
        "a@x.invalid",
        "u@[127.0.0.1]",
        '"quoted local"@example.com',
        "a\u200b@example.com",
        "alice@example.org)<bob@example.org>",
        "a@b..example.com",
        "x" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + ".com",
    ],
)
def test_addresses_that_are_refused(caller: Caller, unchanged: Unchanged, address: str) -> None:
    answer = caller.invite({"invitedUserEmailAddress": address})
    assert answer.status_code == 400, answer.text
    assert error_code(answer) == "InvalidEmailAddress"


def test_one_megabyte_bodies_are_413_everywhere(
    caller: Caller, server: Server, unchanged: Unchanged
) -> None:
    megabyte = b'{"a":"' + b"x" * 1_048_576 + b'"}'
    invitation = caller.invite({"invitedUserEmailAddress": "big.body@example.com"}).json()
    unchanged.before = unchanged.snapshot()
    bulk = caller.request(
        "POST",
        "/api/InviteGuests",
        content=megabyte * 3,
        headers={"content-type": "application/json"},
    )
    assert bulk.status_code == 413  # bulk takes up to 2 MiB
    for path in (
        "/api/InviteGuest",
        "/v1.0/invitations",
        f"/api/invitations/{invitation['invitationId']}/resend",
        f"/api/invitations/{invitation['invitationId']}/revoke",
    ):
        answer = caller.request(
            "POST", path, content=megabyte, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413, (path, answer.text)
        assert error_code(answer) == "RequestTooLarge"
    with server.client() as client:
        token = client.post(
            f"/{caller.tenant}/oauth2/v2.0/token",
            content=b"a=" + b"x" * 1_048_576,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert token.status_code == 413
        page = client.post(
            "/redeem/start",
            content=b"a=" + b"x" * 1_048_576,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert page.status_code == 413


@pytest.mark.parametrize(
    "ref",
    ["..%2F..%2Fetc%2Fpasswd", "x" * 300, "%00", "' OR '1'='1", "%E2%80%AE", "00000000-0000"],
)
def test_hostile_ids_in_paths(caller: Caller, unchanged: Unchanged, ref: str) -> None:
    for method, path in (
        ("GET", f"/api/invitations/{ref}"),
        ("POST", f"/api/invitations/{ref}/resend"),
        ("POST", f"/api/invitations/{ref}/revoke"),
        ("GET", f"/v1.0/users/{ref}"),
        ("DELETE", f"/v1.0/users/{ref}"),
    ):
        answer = caller.request(method, path)
        assert 400 <= answer.status_code < 500, (method, path, answer.text)
        assert answer.json()["error"]["code"]


@pytest.mark.parametrize(
    "params",
    [
        {"$top": "-1"},
        {"$top": "99999999999999999999"},
        {"$filter": "userType eq 'Guest' or 1 eq 1"},
        {"$filter": "userType eq 'Guest'' or ''1''=''1'"},
        {"$filter": "\x00"},
        {"$select": "passwordHash"},
        {"$skiptoken": "A" * 5000},
        {"$orderby": "displayName; DROP TABLE users"},
    ],
)
def test_hostile_queries_on_users(caller: Caller, params: dict[str, str]) -> None:
    answer = caller.request("GET", "/v1.0/users", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"]


def test_hostile_forms_on_redemption_pages(
    caller: Caller, server: Server, unchanged: Unchanged
) -> None:
    junk = {
        "tenant": "' OR 1=1 --",
        "user": "<script>alert(1)</script>",
        "ticket": "\r\n" * 20,
        "csrf": "x" * 5000,
        "code": "1e6",
    }
    with server.client(follow_redirects=False) as client:
        for action in ("/redeem/start", "/redeem/verify", "/redeem/resend", "/redeem/accept"):
            answer = client.post(action, data=junk)
            assert answer.status_code == 403, (action, answer.status_code)
            assert "<script>" not in answer.text
        reflected = client.get(
            "/redeem/", params={"tenant": "<b>x</b>", "user": "<script>", "ticket": "y" * 30}
        )
        assert reflected.status_code == 404
        assert "<script>" not in reflected.text
        assert "<b>x</b>" not in reflected.text
        missing = client.get("/no/such/<script>alert(1)</script>")
        assert missing.status_code == 404
        assert "<script>" not in missing.text


def test_oversized_targets_and_header_blocks(caller: Caller, server: Server) -> None:
    with server.client() as client:
        assert client.get("/v1.0/users?x=" + "a" * 9000).status_code == 414
        many = {f"x-filler-{i}": "v" * 1000 for i in range(20)}
        assert client.get("/healthz", headers=many).status_code == 431
        assert client.get("/healthz", headers={"x-one": "v" * 8000}).status_code == 200


def test_slow_clients_do_not_pin_the_server(caller: Caller, server: Server) -> None:
    """Slow headers and slow bodies are cut off; everyone else is served meanwhile."""
    slow_headers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(100)]
    slow_bodies = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    for sock in slow_headers:
        sock.sendall(b"POST /api/InviteGuest HTTP/1.1\r\nHost: x\r\n")
    for sock in slow_bodies:
        sock.sendall(
            b"POST /api/InviteGuest HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {caller.token}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"
        )
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            for sock in slow_headers + slow_bodies:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X" if sock in slow_bodies else b"X-Slow: 1\r\n")
            time.sleep(0.5)

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        started = time.monotonic()
        for i in range(50):
            answer = caller.invite(
                {"invitedUserEmailAddress": f"busy.{i}.{uuid.uuid4().hex[:6]}@x.com"}
            )
            assert answer.status_code == 201
        assert time.monotonic() - started < 10
        time.sleep(3)  # past both 2-second deadlines
    finally:
        stop.set()
        trickler.join()
    for sock in slow_bodies:
        sock.settimeout(5)
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
        sock.close()
    closed = 0
    for sock in slow_headers:
        sock.settimeout(5)
        try:
            closed += sock.recv(4096) == b""
        except ConnectionResetError:
            closed += 1
        sock.close()
    assert closed == len(slow_headers)
