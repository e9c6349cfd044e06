"""The stored timestamp format: what strftime gives, for any moment and any offset."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from guestgate.domain.timestamps import iso, parse_iso


def test_iso_is_utc_with_microseconds_and_z_for_any_offset() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        moment = datetime(1, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=rng.randrange(0, 10**6 * 86400 * 365 * 9000)
        )
        offset = timezone(timedelta(minutes=rng.randrange(-840, 841)))
        shown = moment.astimezone(offset) if moment.year > 1 else moment
        expected = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(27, "0")
        assert iso(shown) == expected
        assert parse_iso(iso(shown)) == moment


def test_fixed_width_text_sorts_as_time() -> None:
    early = datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    late = datetime(2026, 1, 1, tzinfo=UTC)
    assert iso(early) == "0999-12-31T23:59:59.999999Z"
    assert iso(early) < iso(late)
