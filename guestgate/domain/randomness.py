"""Where ids, tickets, codes and secrets come from: passed in, as time is, so tests are exact.

Services take a `Randomness`; the default draws from the operating system (`secrets`).
Tests pass `SeededRandomness(seed)` and know every id and ticket a use-case will make.
"""

from __future__ import annotations

import base64
import os
import random
import secrets
import uuid
from typing import Protocol


class Randomness(Protocol):
    def uuid(self) -> str:
        """A random (version 4) UUID as text: ids of guests, invitations, apps, messages."""
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
        # What str(uuid.uuid4()) gives, in a third of its time: ids are made on every invite.
        raw = bytearray(os.urandom(16))
        raw[6] = raw[6] & 0x0F | 0x40  # version 4
        raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
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
