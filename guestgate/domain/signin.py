"""The stored state of sign-in: code challenges, sessions, authorization codes, refresh tokens.

Each row is found by the SHA-256 of a secret the browser or the app holds; none of the
secrets themselves is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

CODE_ATTEMPTS = 5
MAX_CODES_PER_CHALLENGE = 5
RESEND_INTERVAL_SECONDS = 30
CHALLENGE_LIFETIME_SECONDS = 1800
# Sign-ins that mail a code to one account, per window, across every process.
CODE_MAILS_PER_WINDOW = 5
CODE_MAIL_WINDOW_SECONDS = 900

# Why a sign-in failed, as the audit trail records it.
WRONG_CODE = "wrong_code"
CODE_EXPIRED = "code_expired"
CODE_LOCKED = "code_locked"
NO_ACCOUNT = "no_account"  # unknown address, a pending, revoked or deleted user
TOO_SOON = "too_soon"
TOO_MANY_CODES = "too_many_codes"  # the account got its share of code mails for now
NO_CHALLENGE = "no_challenge"
NO_INVITATION = "no_invitation"  # a guest who never accepted, with no invitation open now
USER_DISABLED = "user_disabled"  # a right code for an account that is disabled (AADSTS50057)


@dataclass(frozen=True, slots=True)
class Challenge:
    """An email one-time-code sign-in in progress, for one pending authorization request."""

    challenge_hash: str
    tenant_id: str
    user_id: str | None  # None: the address has no account that may sign in; no code was sent
    request: str  # sealed AuthorizeRequest
    code_hash: str | None
    code_expires_at: str | None
    code_attempts: int
    codes_sent: int
    last_code_at: str | None
    created_at: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class SignInSession:
    """A browser's signed-in session: lets the next app sign in without a new code."""

    session_hash: str
    sid: str  # public id, the `sid` claim
    tenant_id: str
    user_id: str
    auth_time: str
    expires_at: str
    ended_at: str | None


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    app_id: str
    user_id: str
    sid: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    auth_time: str
    expires_at: str
    used_at: str | None = None
    family_id: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    family_id: str
    app_id: str
    user_id: str
    sid: str
    scope: str
    auth_time: str
    created_at: str
    expires_at: str
    used_at: str | None = None
    revoked_at: str | None = None
