"""Token-signing keys: a key signs until a newer one exists and verifies until retired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate.domain.timestamps import iso


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, str]
    created_at: str
    retire_at: str | None

    def status(self, now: datetime, newest_kid: str) -> str:
        if self.retire_at is not None and self.retire_at <= iso(now):
            return "retired"
        return "active" if self.kid == newest_kid else "previous"


def retirement_time(now: datetime, *, token_lifetime: int, leeway: int) -> datetime:
    """When a superseded key may leave the key set: after every token it signed has expired."""
    return now + timedelta(seconds=token_lifetime + leeway)
