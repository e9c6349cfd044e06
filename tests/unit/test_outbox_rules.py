from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from guestgate.adapters.mail.render import Sender, build, header_safe, language
from guestgate.domain.messages import INVITATION, MAX_DELAY, message_id, next_attempt, retry_delay


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
        INVITATION,
        {
            "to": "guest@example.com",
            "to_name": hostile,
            "org": hostile,
            "redeem_url": "https://gg.example/r",
        },
        outbox_id="00000000-0000-0000-0000-000000000001",
        sender=Sender("invites@contoso.example"),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    raw = message.as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers
    assert b"\nX: y" not in headers
    assert "Bcc" not in message
