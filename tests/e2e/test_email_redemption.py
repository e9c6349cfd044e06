"""The guest's journey: the invitation email over real SMTP, then the redemption pages."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("mail")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_MAIL_FROM": "invites@contoso.example",
            "GUESTGATE_OUTBOX_RETRY_BASE": "1",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.demo(server)


def unique_email() -> str:
    return f"guest.{uuid.uuid4().hex[:10]}@example.com"


def db(server: Server) -> sqlite3.Connection:
    return sqlite3.connect(server.database_url.removeprefix("sqlite:///"))


def invitation_status(caller: Caller, invitation_id: str) -> str:
    return str(caller.request("GET", f"/api/invitations/{invitation_id}").json()["status"])


def test_invitation_email_has_both_parts_the_link_and_the_cc(
    caller: Caller, sink: SmtpSink
) -> None:
    email = unique_email()
    answer = caller.invite(
        {
            "invitedUserEmailAddress": email,
            "invitedUserDisplayName": "Jane <b>Doe</b>",
            "inviteRedirectUrl": "https://google.at",
            "sendInvitationMessage": True,
            "requestedBy": "adele.vance@contoso.example",
            "invitedUserMessageInfo": {
                "customizedMessageBody": "Welcome <script>alert(1)</script> {{7*7}}",
                "ccRecipients": [
                    {"emailAddress": {"name": "Manager", "address": "boss@mycompany.com"}}
                ],
            },
        }
    ).json()
    [message] = sink.wait_for(to=email)
    assert (
        message["Subject"] == "Contoso invited you to access applications within their organization"
    )
    assert message["From"].addresses[0].addr_spec == "invites@contoso.example"
    assert message["Cc"].addresses[0].addr_spec == "boss@mycompany.com"
    assert re.fullmatch(r"<[0-9a-f-]{36}@contoso\.example>", message["Message-ID"])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert answer["inviteRedeemUrl"] in text
    assert f'href="{answer["inviteRedeemUrl"].replace("&", "&amp;")}"' in html
    assert "Get started" in html
    assert "Only accept this invitation if you trust the sender" in text
    assert "Welcome <script>alert(1)</script> {{7*7}}" in text
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    received = next(r for r in sink.received if r.message["Message-ID"] == message["Message-ID"])
    assert sorted(received.rcpt_tos) == sorted([email, "boss@mycompany.com"])
    [notice] = sink.wait_for(to="adele.vance@contoso.example", subject_contains=email)
    assert notice["Subject"] == f"{email} has been invited to your organization"


def test_german_invitation(caller: Caller, sink: SmtpSink) -> None:
    email = unique_email()
    caller.invite(
        {
            "invitedUserEmailAddress": email,
            "sendInvitationMessage": True,
            "invitedUserMessageInfo": {"messageLanguage": "de-AT"},
        }
    )
    [message] = sink.wait_for(to=email)
    assert "hat Sie eingeladen" in message["Subject"]
    assert "Los geht's" in message.get_body(("plain",)).get_content()


def test_no_email_unless_asked(caller: Caller, sink: SmtpSink) -> None:
    email = unique_email()
    caller.invite({"invitedUserEmailAddress": email})
    time.sleep(1.5)
    assert sink.messages(to=email) == []


def test_full_journey_without_javascript(caller: Caller, server: Server, sink: SmtpSink) -> None:
    email = unique_email()
    answer = caller.invite(
        {"invitedUserEmailAddress": email, "inviteRedirectUrl": "https://google.at/welcome?x=1"}
    ).json()
    guest = Guest(server)
    landing = guest.open(answer["inviteRedeemUrl"])
    assert landing.status_code == 200
    assert "You've been invited to access applications in the Contoso organization" in landing.text
    assert landing.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in landing.headers["content-security-policy"]
    assert landing.headers["cache-control"] == "no-store"
    started = guest.submit(landing, "/redeem/start")
    assert started.status_code == 303
    assert started.headers["location"] == "/redeem/code"
    code_page = guest.http.get("/redeem/code")
    code = latest_code(sink, email, 1)
    wrong = guest.submit(
        code_page, "/redeem/verify", code="000000" if code != "000000" else "111111"
    )
    assert wrong.status_code == 400
    assert "4 attempts left" in wrong.text
    early = guest.http.post("/redeem/accept", data={"csrf": "x"})
    assert early.status_code == 403
    verified = guest.submit(code_page, "/redeem/verify", code=code)
    assert verified.status_code == 303
    assert verified.headers["location"] == "/redeem/consent"
    consent = guest.http.get("/redeem/consent")
    assert "Review permissions" in consent.text
    accepted = guest.submit(consent, "/redeem/accept")
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "https://google.at/welcome?x=1"
    assert invitation_status(caller, answer["invitationId"]) == "Completed"
    users = caller.request("GET", "/api/invitations", params={"email": email}).json()["value"]
    assert users[0]["completedDateTime"]
    with db(server) as conn:
        state = conn.execute(
            "SELECT external_user_state FROM users WHERE id = ?", (answer["id"],)
        ).fetchone()[0]
        accepts = conn.execute(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.accept' AND target = ?",
            (answer["id"],),
        ).fetchone()[0]
    assert state == "Accepted"
    assert accepts == 1
    # The link still works after acceptance: it simply leads on to the redirect.
    again = guest.open(answer["inviteRedeemUrl"])
    assert again.status_code == 303
    assert again.headers["location"] == "https://google.at/welcome?x=1"
    # A second accept changes nothing and writes no second audit event.
    guest.submit(consent, "/redeem/accept")
    with db(server) as conn:
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM audit_events"
                " WHERE action = 'invitation.accept' AND target = ?",
                (answer["id"],),
            ).fetchone()[0]
            == 1
        )
    guest.close()


def test_get_and_head_change_nothing(caller: Caller, server: Server, sink: SmtpSink) -> None:
    email = unique_email()
    answer = caller.invite({"invitedUserEmailAddress": email}).json()
    with server.client() as scanner:
        for _ in range(3):
            assert (
                scanner.get(answer["inviteRedeemUrl"].removeprefix(server.base_url)).status_code
                == 200
            )
            scanner.head(answer["inviteRedeemUrl"].removeprefix(server.base_url))
    time.sleep(1)
    assert sink.messages(to=email) == []
    assert invitation_status(caller, answer["invitationId"]) == "PendingAcceptance"
    with db(server) as conn:
        assert conn.execute("SELECT COUNT(*) FROM redeem_sessions").fetchone()[0] >= 0
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM redeem_sessions WHERE invitation_id = ?",
                (answer["invitationId"],),
            ).fetchone()[0]
            == 0
        )


def test_invalid_links_look_alike_and_expired_is_410(caller: Caller, server: Server) -> None:
    first = caller.invite({"invitedUserEmailAddress": unique_email()}).json()
    resent = caller.request("POST", f"/api/invitations/{first['invitationId']}/resend").json()
    revoked = caller.invite({"invitedUserEmailAddress": unique_email()}).json()
    caller.request("POST", f"/api/invitations/{revoked['invitationId']}/revoke")
    tid = caller.tenant
    unknown = f"/redeem/?tenant={tid}&user={first['id']}&ticket={'A' * 43}&ver=2.0"
    bodies = set()
    with server.client() as client:
        for url in (
            first["inviteRedeemUrl"],
            revoked["inviteRedeemUrl"],
            unknown,
            "/redeem/?tenant=x&user=y&ticket=z",
        ):
            page = client.get(url.removeprefix(server.base_url))
            assert page.status_code == 404
            bodies.add(page.text)
        assert (
            client.get(resent["inviteRedeemUrl"].removeprefix(server.base_url)).status_code == 200
        )
    assert len(bodies) == 1
    assert "Ask the person who invited you" in bodies.pop()
    expiring = caller.invite({"invitedUserEmailAddress": unique_email()}).json()
    with db(server) as conn:
        conn.execute(
            "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?",
            (expiring["invitationId"],),
        )
    with server.client() as client:
        page = client.get(expiring["inviteRedeemUrl"].removeprefix(server.base_url))
    assert page.status_code == 410
    assert "expired" in page.text


def test_five_wrong_codes_lock_the_code_and_csrf_is_enforced(
    caller: Caller, server: Server, sink: SmtpSink
) -> None:
    email = unique_email()
    answer = caller.invite({"invitedUserEmailAddress": email}).json()
    guest = Guest(server)
    landing = guest.open(answer["inviteRedeemUrl"])
    forged = guest.http.post(
        "/redeem/start",
        data={"tenant": caller.tenant, "user": answer["id"], "ticket": "x", "csrf": "0" * 64},
    )
    assert forged.status_code == 403
    foreign = guest.http.post(
        "/redeem/start",
        data=dict(re.findall(r'name="([a-z]+)" value="([^"]*)"', landing.text)),
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    guest.submit(landing, "/redeem/start")
    code_page = guest.http.get("/redeem/code")
    code = latest_code(sink, email, 1)
    bad = "000000" if code != "000000" else "111111"
    for _ in range(5):
        guest.submit(code_page, "/redeem/verify", code=bad)
    locked = guest.submit(code_page, "/redeem/verify", code=code)
    assert locked.status_code == 400
    assert "can no longer be used" in locked.text
    no_csrf = guest.http.post("/redeem/verify", data={"code": code})
    assert no_csrf.status_code == 403
    # Resending at once is throttled; half a minute later a new code comes and works.
    assert guest.submit(code_page, "/redeem/resend").status_code == 429
    with db(server) as conn:
        conn.execute("UPDATE redeem_sessions SET last_code_at = '2000-01-01T00:00:00.000000Z'")
    resent = guest.submit(code_page, "/redeem/resend")
    assert resent.status_code == 303
    fresh = latest_code(sink, email, 2)
    assert guest.submit(code_page, "/redeem/verify", code=fresh).status_code == 303
    # The used code and the pre-verification session cannot be replayed.
    old_cookie = {"gg_session": "not-a-session"}
    with server.client(cookies=old_cookie, follow_redirects=False) as other:
        assert other.get("/redeem/consent").status_code == 403
    guest.close()
    assert invitation_status(caller, answer["invitationId"]) == "PendingAcceptance"


def test_logs_hold_no_tickets_codes_or_tokens(
    caller: Caller, server: Server, sink: SmtpSink
) -> None:
    logs = server.logs()
    for message in sink.messages():
        for ticket in re.findall(
            r"ticket=([A-Za-z0-9_-]{43})", message.get_body(("plain",)).get_content()
        ):
            assert ticket not in logs
        for code in re.findall(r"code is (\d{6})", message.get_body(("plain",)).get_content()):
            assert f'"{code}"' not in logs
            assert f" {code} " not in logs
    assert caller.token not in logs
    assert "ticket=" not in logs
    with db(server) as conn:
        sent_payloads = [
            r[0] for r in conn.execute("SELECT payload FROM outbox WHERE status = 'sent'")
        ]
        dump = "\n".join(str(r) for r in conn.execute("SELECT * FROM outbox")) + "\n".join(
            str(r) for r in conn.execute("SELECT * FROM redeem_sessions")
        )
    assert sent_payloads
    assert all(p is None for p in sent_payloads)  # delivered messages keep no links or codes
    assert "ticket=" not in dump
    assert "redeem" not in dump


def test_tenant_logo_privacy_statement_and_landing_page(
    caller: Caller, server: Server, sink: SmtpSink
) -> None:
    bad = server.cli(
        "tenant", "set", "contoso.example", "--logo-url", "javascript:alert(1)", check=False
    )
    assert bad.returncode == 1
    assert "InvalidRedirectUrl" in bad.stderr
    server.cli(
        "tenant",
        "set",
        "contoso.example",
        "--logo-url",
        "https://cdn.contoso.example/logo.png?a=1&b=2",
        "--privacy-url",
        "https://contoso.example/privacy",
        "--landing-url",
        "https://apps.contoso.example/",
    )
    email = unique_email()
    answer = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True}).json()
    assert answer["inviteRedirectUrl"] == "https://apps.contoso.example/"
    [message] = sink.wait_for(to=email)
    html = message.get_body(("html",)).get_content()
    assert '<img src="https://cdn.contoso.example/logo.png?a=1&amp;b=2" alt="Contoso"' in html
    guest = Guest(server)
    guest.submit(guest.open(answer["inviteRedeemUrl"]), "/redeem/start")
    code_page = guest.http.get("/redeem/code")
    guest.submit(code_page, "/redeem/verify", code=latest_code(sink, email, 1))
    consent = guest.http.get("/redeem/consent")
    assert 'href="https://contoso.example/privacy"' in consent.text
    assert (
        guest.submit(consent, "/redeem/accept").headers["location"]
        == "https://apps.contoso.example/"
    )
    guest.close()
    server.cli("tenant", "set", "contoso.example", "--logo-url", "", "--landing-url", "")
