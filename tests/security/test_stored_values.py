"""What a client stores can never break a later page, header or email: on SQLite and PostgreSQL.

URLs are normalised to ASCII URIs at input (or refused), addresses that a mail client would
decode into another mailbox are refused, and numeric query parameters in other scripts'
digits are a 400, never a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.headerregistry import Address

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.security.both import DATABASES, count, redeem, rows, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    smtp = SmtpSink(smtputf8=True).start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("stored"), sink)


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.demo(server)


def unique(prefix: str = "guest") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


def stored_rows(server: Server) -> tuple[int, int, int]:
    return (
        count(server, "SELECT COUNT(*) FROM users"),
        count(server, "SELECT COUNT(*) FROM invitations"),
        count(server, "SELECT COUNT(*) FROM outbox"),
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (
            "https://b\u00fccher.example/caf\u00e9?q=\u00e4",
            "https://xn--bcher-kva.example/caf%C3%A9?q=%C3%A4",
        ),
        (
            "https://example.com/\u65e5\u672c#\u00e9",
            "https://example.com/%E6%97%A5%E6%9C%AC#%C3%A9",
        ),
    ],
)
def test_a_unicode_redirect_url_is_stored_as_a_uri_and_the_accept_leads_there(
    caller: Caller, server: Server, sink: SmtpSink, given: str, stored: str
) -> None:
    email = unique()
    answer = caller.invite({"invitedUserEmailAddress": email, "inviteRedirectUrl": given})
    assert answer.status_code == 201, answer.text
    assert answer.json()["inviteRedirectUrl"] == stored
    assert rows(server, "SELECT redirect_url FROM invitations WHERE email = %s", email) == [
        (stored,)
    ]
    assert redeem(server, sink, answer.json()["inviteRedeemUrl"], email) == stored


@pytest.mark.parametrize(
    "bad",
    [
        "https://example.com/\u200bphish",
        "https://example.com/\u202egnp.exe",
        "https://exa\u200bmple.com/",
        "https://example.com/" + "\u00e9" * 400,  # 2,400 characters once encoded
    ],
)
def test_invisible_characters_in_a_redirect_url_are_refused_and_nothing_is_stored(
    caller: Caller, server: Server, bad: str
) -> None:
    before = stored_rows(server)
    answer = caller.invite(
        {
            "invitedUserEmailAddress": unique(),
            "inviteRedirectUrl": bad,
            "sendInvitationMessage": True,
        }
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "InvalidRedirectUrl"
    assert stored_rows(server) == before


def test_a_unicode_tenant_landing_page_is_stored_as_a_uri(
    caller: Caller, server: Server, sink: SmtpSink
) -> None:
    refused = server.cli(
        "tenant", "set", caller.tenant, "--landing-url", "https://x.example/\u202e", check=False
    )
    assert refused.returncode != 0
    assert "landing URL" in refused.stderr
    server.cli("tenant", "set", caller.tenant, "--landing-url", "https://\u00fcber.example/\u00e4")
    try:
        email = unique()
        answer = caller.invite({"invitedUserEmailAddress": email})
        assert answer.status_code == 201, answer.text
        target = "https://xn--ber-goa.example/%C3%A4"
        assert answer.json()["inviteRedirectUrl"] == target
        assert redeem(server, sink, answer.json()["inviteRedeemUrl"], email) == target
    finally:
        server.cli("tenant", "set", caller.tenant, "--landing-url", "")


@pytest.mark.parametrize("top", ["\u00b9", "\u0661", "\uff11", "1\u00b2", "\u2460"])
def test_numeric_query_parameters_in_other_digits_are_400(caller: Caller, top: str) -> None:
    graph = caller.request(
        "GET", "/v1.0/users", params={"$top": top}, headers={"ConsistencyLevel": "eventual"}
    )
    assert graph.status_code == 400, graph.text
    api = caller.request("GET", "/api/invitations", params={"top": top})
    assert api.status_code == 400, api.text


ENCODED = "=?utf-8?b?Y2VvQGNvbnRvc28uY29t?="  # decodes to ceo@contoso.com


@pytest.mark.parametrize(
    "field",
    ["invitedUserEmailAddress", "requestedBy", "ccRecipients"],
)
def test_an_encoded_word_address_is_refused_wherever_it_would_reach_a_header(
    caller: Caller, server: Server, sink: SmtpSink, field: str
) -> None:
    before, mails = stored_rows(server), len(sink.received)
    body: dict[str, object] = {"invitedUserEmailAddress": unique(), "sendInvitationMessage": True}
    address = f"{ENCODED}@example.com"
    if field == "ccRecipients":
        body["invitedUserMessageInfo"] = {"ccRecipients": [{"emailAddress": {"address": address}}]}
    else:
        body[field] = address
    answer = caller.invite(body)
    assert answer.status_code == 400, answer.text
    assert "encoded word" in answer.json()["error"]["message"]
    assert stored_rows(server) == before
    assert len(sink.received) == mails


def test_addresses_with_equals_and_question_marks_reach_headers_as_themselves(
    caller: Caller, sink: SmtpSink
) -> None:
    email = f"a=b?c.{uuid.uuid4().hex[:6]}@example.com"
    cc = f"x?=y.{uuid.uuid4().hex[:6]}@example.com"
    answer = caller.invite(
        {
            "invitedUserEmailAddress": email,
            "sendInvitationMessage": True,
            "invitedUserMessageInfo": {"ccRecipients": [{"emailAddress": {"address": cc}}]},
        }
    )
    assert answer.status_code == 201, answer.text
    [message] = sink.wait_for(to=email)
    # A client decoding RFC 2047 shows exactly these mailboxes.
    shown_to = [a.addr_spec for a in message["To"].addresses]
    shown_cc = [a.addr_spec for a in message["Cc"].addresses]
    assert shown_to == [Address(addr_spec=email).addr_spec]
    assert shown_cc == [cc]
