from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guestgate.domain.invitations import (
    EXPIRED,
    PENDING,
    Invitation,
    build_invite_request,
    check_redirect_url,
    new_ticket,
    ticket_hash,
)
from guestgate.errors import ValidationError


@pytest.mark.parametrize(
    "good",
    [
        "https://google.at",
        "https://mycompany.com/guestinfo?x=1#top",
        "http://localhost:3000/welcome",
        "http://127.0.0.1/done",
        "https://xn--bcher-kva.example/",
    ],
)
def test_accepted_redirect_urls_are_kept_exactly(good: str) -> None:
    assert check_redirect_url(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "file:///etc/passwd",
        "http://example.com/",
        "//evil.example",
        "https:/\\evil.example",
        "https://good.example\\@evil.example",
        "https://good.example@evil.example",
        "https://user:pw@evil.example",
        "https://evil.example/\r\nX: y",
        "https://evil.example/ x",
        "https://evil.example/\t",
        "https://",
        "relative/path",
        "",
        "https://" + "a" * 2048,
        "https://exa mple.com",
        "https://example.com:99999/",
    ],
)
def test_refused_redirect_urls(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_redirect_url(bad)
    assert info.value.code == "InvalidRedirectUrl"


def rule(**fields: object) -> str:
    with pytest.raises(ValidationError) as info:
        build_invite_request(**{"email": "guest@example.com", **fields})  # type: ignore[arg-type]
    return info.value.code


def test_each_field_rule_has_its_own_code() -> None:
    assert rule(email=None) == "InvalidEmailAddress"
    assert rule(display_name="a" * 257) == "InvalidDisplayName"
    assert rule(display_name="Eve\r\nBcc: x@evil.com") == "InvalidDisplayName"
    assert rule(display_name="  ") == "InvalidDisplayName"
    assert rule(requested_by="not an address") == "InvalidRequestedBy"
    assert rule(more={"k": "x" * 4000}) == "MoreTooLarge"
    assert rule(message_language="../../etc/passwd") == "InvalidMessageLanguage"
    assert rule(message_language="en-US<script>") == "InvalidMessageLanguage"
    assert rule(message_body="x" * 10_001) == "InvalidMessageBody"
    assert rule(message_body="a\u0000b") == "InvalidMessageBody"
    assert rule(cc=[(None, "a@example.com"), (None, "b@example.com")]) == "TooManyCcRecipients"
    assert rule(cc=[(None, "not-an-address")]) == "InvalidCcRecipient"
    assert rule(cc=[("Eve\nBcc: x", "a@example.com")]) == "InvalidCcRecipient"
    assert rule(redirect_url="javascript:alert(1)") == "InvalidRedirectUrl"


def test_more_up_to_4000_characters_and_multiline_bodies_are_fine() -> None:
    request = build_invite_request(
        email="guest@example.com",
        more={"k": "x" * 3990},
        message_body="Hello,\r\nwelcome!\n\t{{7*7}}",
        message_language="de",
        cc=[("Manager", "boss@example.com")],
    )
    assert request.message_info is not None
    assert request.message_info.customized_message_body == "Hello,\r\nwelcome!\n\t{{7*7}}"


def test_tickets_are_random_url_safe_and_stored_as_hashes() -> None:
    tickets = {new_ticket() for _ in range(10_000)}
    assert len(tickets) == 10_000
    assert {len(t) for t in tickets} == {43}
    sample = next(iter(tickets))
    assert set(sample) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(ticket_hash(sample)) == 64
    assert sample not in ticket_hash(sample)


def test_pending_invitation_past_expiry_reads_as_expired() -> None:
    invitation = Invitation(
        id="i",
        tenant_id="t",
        user_id="u",
        email="g@example.com",
        status=PENDING,
        redirect_url="https://x.example",
        send_message=False,
        requested_by=None,
        more={},
        message_info=None,
        created_by_app=None,
        created_at="2026-01-01T00:00:00.000000Z",
        expires_at="2026-01-31T00:00:00.000000Z",
        completed_at=None,
        revoked_at=None,
    )
    assert invitation.status_at(datetime(2026, 1, 30, tzinfo=UTC)) == PENDING
    assert invitation.status_at(datetime(2026, 1, 31, tzinfo=UTC)) == EXPIRED
