"""The arithmetic of limits: fixed windows, the wait, keys that hide what they count."""

from __future__ import annotations

import pytest

from guestgate.domain.throttle import Count, Limit, client_key, over, retry_after

LIMIT = Limit("test", 3, 60)


def test_below_the_limit_there_is_no_wait() -> None:
    assert retry_after(None, LIMIT, 0) is None
    assert retry_after(Count(2, 60_000), LIMIT, 1_000) is None


def test_at_the_limit_the_wait_is_until_the_window_ends() -> None:
    assert retry_after(Count(3, 60_000), LIMIT, 1_000) == 59
    assert retry_after(Count(9, 60_000), LIMIT, 59_999) == 1
    assert retry_after(Count(9, 60_000), LIMIT, 60_000) is None  # the window is over


def test_a_hit_past_the_limit_is_over_it() -> None:
    assert not over(Count(3, 0), LIMIT)
    assert over(Count(4, 0), LIMIT)


def test_keys_are_hashed_and_separate_their_parts() -> None:
    key = LIMIT.key("alice@example.com", "127.0.0.1")
    assert key.startswith("test:")
    assert "alice" not in key
    assert "127.0.0.1" not in key
    assert len(key) <= 80
    assert LIMIT.key("a", "bc") != LIMIT.key("ab", "c")
    assert Limit("other", 3, 60).key("a") != LIMIT.key("a")


def test_client_ids_are_keyed_as_the_lookup_reads_them() -> None:
    variants = ["ABCDEF", " abcdef", "abcdef\t", "AbCdEf "]
    assert {client_key(v) for v in variants} == {"abcdef"}


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (1, 0), (-1, 5)])
def test_limits_must_be_positive(limit: int, window: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        Limit("x", limit, window)
