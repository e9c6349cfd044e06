"""Redemption: one-time codes proving the invited address, and their limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from guestgate.domain.throttle import Limit

CODE_DIGITS = 6
CODE_LIFETIME_SECONDS = 600  # ASVS asks for at most 10 minutes
CODE_ATTEMPTS = 5
RESEND_INTERVAL_SECONDS = 30
MAX_CODES_PER_SESSION = 5
SESSION_LIFETIME_SECONDS = 3600
DAY = 86_400
# Per invitation, whatever the address or process they come from: a replayed landing form
# cannot flood the guest with codes, and more addresses buy a guesser no more guesses.
SESSIONS_PER_INVITATION = Limit("invitation-sessions", 10, DAY)
CODES_PER_INVITATION = Limit("invitation-codes", 10, DAY)
GUESSES_PER_INVITATION = Limit("invitation-guesses", 30, DAY)


@dataclass(frozen=True, slots=True)
class RedeemSession:
    """A guest's redemption of one invitation: the code last sent and how it was used."""

    session_hash: str
    invitation_id: str
    code_hash: str | None  # cleared once verified: a code cannot be used twice
    code_expires_at: str | None
    code_attempts: int
    codes_sent: int
    last_code_at: str | None
    verified_at: str | None
    created_at: str
    expires_at: str


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, session_hash: str, code: str) -> str:
    """Keyed and bound to the session: a 6-digit code cannot be brute-forced from a dump."""
    return hmac.new(key, f"{session_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def mask_address(address: str) -> str:
    """``alice@example.com`` → ``a***@example.com``: enough for the guest to recognise it."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"
