"""The system source of ids: version-4 UUIDs in their canonical text, each one new."""

from __future__ import annotations

import uuid

from guestgate.domain.randomness import SYSTEM, SeededRandomness


def test_system_ids_are_canonical_version_4_uuids() -> None:
    made = [SYSTEM.uuid() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text  # lower case, hyphens where str(UUID) puts them


def test_every_random_bit_of_an_id_varies() -> None:
    # 122 bits are random: over many ids each of them is seen both set and clear.
    ints = [uuid.UUID(SYSTEM.uuid()).int for _ in range(500)]
    fixed = (0xF << 76) | (0x3 << 62)
    seen_set = seen_clear = 0
    for value in ints:
        seen_set |= value
        seen_clear |= ~value
    mask = (1 << 128) - 1
    assert (seen_set & seen_clear & mask) == mask & ~fixed


def test_seeded_ids_repeat() -> None:
    assert SeededRandomness(7).uuid() == SeededRandomness(7).uuid()
