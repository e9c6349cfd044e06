from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from guestgate.adapters.mail.render import Sender, build, header_safe, language
from guestgate.domain.messages import (
    MAX_DELAY,
    InvitationMail,
    decode_payload,
    encode_payload,
    message_id,
    next_attempt,
    retry_delay,
)


def invitation_mail(**fields: Any) -> InvitationMail:
    values: dict[str, Any] = {
        "to_name": None,
        "cc": None,
        "logo_url": None,
        "inviter": None,
        "language": None,
        "body": None,
        "expires": None,
    }
    return InvitationMail(**(values | fields))


def test_payloads_round_trip_through_their_stored_form() -> None:
    mail = invitation_mail(
        to="a@example.com", org="Contoso", redeem_url="https://r", cc=("B", "b@example.com")
    )
    assert decode_payload(mail.kind, encode_payload(mail)) == mail


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40)]:
        delays = [retry_delay(attempts, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered, not one value
    assert retry_delay(40, rng) <= MAX_DELAY
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert (
        now + timedelta(seconds=0.5)
        <= next_attempt(now, 1, rng, base=1)
        <= now + timedelta(seconds=1)
    )


def test_message_id_is_derived_from_the_row() -> None:
    assert message_id("abc", "contoso.example") == "<abc@contoso.example>"


def test_language_fallback() -> None:
    assert language("de-AT") == "de"
    assert language("DE") == "de"
    assert language("fr") == "en"
    assert language(None) == "en"


def test_encoded_words_and_line_breaks_cannot_reach_headers() -> None:
    hostile = "Hi=?UTF-8?Q?=0A?=Bcc: injected@evil.example\r\nX: y"
    safe = header_safe(hostile)
    assert "=?" not in safe
    assert "\r" not in safe
    assert "\n" not in safe
    message = build(
        invitation_mail(
            to="guest@example.com",
            to_name=hostile,
            org=hostile,
            redeem_url="https://gg.example/r",
        ),
        outbox_id="00000000-0000-0000-0000-000000000001",
        sender=Sender("invites@contoso.example"),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    headers = message.data.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in headers
    assert b"\nX: y" not in headers
    assert "Bcc" not in message.parsed()
    assert message.recipients == ["guest@example.com"]


def test_messages_parse_back_with_both_parts_and_encoded_names() -> None:
    for to, cc in (
        (("Zoë Müller", "zoe@example.com"), ('Ünal, "Boss"', "boss@example.com")),
        (("", "zoë@bücher.example"), None),  # needs SMTPUTF8
    ):
        mail = build(
            invitation_mail(
                to=to[1],
                to_name=to[0],
                cc=cc,
                org="Fabrikam Straße " + "x" * 120,
                body="Hallo <b>du</b>\nzweite Zeile",
                redeem_url="https://gg.example/r?ticket=abc",
            ),
            outbox_id="00000000-0000-0000-0000-000000000002",
            sender=Sender("invites@contoso.example"),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        parsed = mail.parsed()
        if mail.smtputf8:  # the parser flags UTF-8 local parts; check the raw header
            assert f"To: {to[1]}\r\n".encode() in mail.data
        else:
            assert parsed["To"].addresses[0].addr_spec == to[1]
            assert parsed["To"].addresses[0].display_name == to[0]
        if cc:
            assert parsed["Cc"].addresses[0].display_name == cc[0]
            assert mail.recipients == [to[1], cc[1]]
        assert parsed["Subject"].startswith("Fabrikam Straße xxx")
        assert parsed["Subject"].endswith(
            "invited you to access applications within their organization"
        )
        assert parsed["Message-ID"] == "<00000000-0000-0000-0000-000000000002@contoso.example>"
        text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "https://gg.example/r?ticket=abc" in text
        assert "Hallo &lt;b&gt;du&lt;/b&gt;" in html
        assert mail.smtputf8 == (not to[1].isascii())
        assert all(len(line) <= 998 for line in mail.data.split(b"\r\n"))
