"""The system source of ids: version-7 UUIDs in their canonical text, each one new."""

from __future__ import annotations

import time
import uuid

from guestgate.domain.randomness import SYSTEM, SeededRandomness


def test_system_ids_are_canonical_version_7_uuids_holding_the_time() -> None:
    before = time.time_ns() // 1_000_000
    made = [SYSTEM.uuid() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text  # lower case, hyphens where str(UUID) puts them
        assert before <= parsed.int >> 80 <= after


def test_ids_made_later_sort_later() -> None:
    first = SYSTEM.uuid()
    time.sleep(0.002)
    assert SYSTEM.uuid() > first  # as text too: that is how the indexes compare them


def test_every_random_bit_of_an_id_varies() -> None:
    # 74 bits are random (below the 48 of the time, the 4 of the version, the 2 of the
    # variant): over many ids each of them is seen both set and clear.
    ints = [uuid.UUID(SYSTEM.uuid()).int for _ in range(500)]
    random_bits = ((1 << 12) - 1) << 64 | ((1 << 62) - 1)
    seen_set = seen_clear = 0
    for value in ints:
        seen_set |= value
        seen_clear |= ~value
    assert (seen_set & seen_clear & random_bits) == random_bits


def test_seeded_ids_repeat() -> None:
    assert SeededRandomness(7).uuid() == SeededRandomness(7).uuid()
