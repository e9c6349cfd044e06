"""App registrations, their permissions and client secrets."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.errors import ValidationError

# Application permissions guestgate understands, named as in Microsoft Graph.
INVITE = "User.Invite.All"
READ_USERS = "User.Read.All"
READ_AUDIT = "AuditLog.Read.All"
READWRITE_USERS = "User.ReadWrite.All"
PERMISSIONS = (INVITE, READ_USERS, READ_AUDIT, READWRITE_USERS)

SECRET_PREFIX = "gg_"  # noqa: S105 (a marker for secret scanners)
MAX_SECRET_LIFETIME = timedelta(days=2 * 365)
_DURATION = re.compile(r"^([1-9][0-9]{0,4})([dwmy])$")
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


@dataclass(frozen=True, slots=True)
class App:
    id: str  # the AppID (client id)
    object_id: str  # the service principal's object id: `oid`/`sub` of its tokens
    tenant_id: str
    name: str
    permissions: tuple[str, ...]
    created_at: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ClientSecret:
    id: str
    app_id: str
    hint: str
    display_name: str
    created_at: str
    expires_at: str  # ISO-8601 UTC


def check_permissions(names: Iterable[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for name in names:
        if name not in PERMISSIONS:
            raise ValidationError(
                f"unknown permission {name!r}; known: {', '.join(PERMISSIONS)}",
                code="UnknownPermission",
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def check_app_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 120 or any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise ValidationError("an app name is 1-120 printable characters", code="InvalidAppName")
    return cleaned


def parse_lifetime(text: str) -> timedelta:
    """Parse a secret lifetime such as ``90d``, ``12w``, ``6m`` or ``2y`` (at most two years)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValidationError(
            f"{text!r} is not a lifetime; use a number and d, w, m or y, e.g. 2y",
            code="InvalidLifetime",
        )
    lifetime = timedelta(days=int(match.group(1)) * _UNIT_DAYS[match.group(2)])
    if lifetime > MAX_SECRET_LIFETIME:
        raise ValidationError("a client secret lives at most two years", code="InvalidLifetime")
    return lifetime


def new_secret(rng: Randomness = SYSTEM) -> str:
    """A client secret: 256 random bits, base64url, with a prefix secret scanners can spot."""
    return SECRET_PREFIX + rng.token(32)


def secret_hint(secret: str) -> str:
    return secret[len(SECRET_PREFIX) : len(SECRET_PREFIX) + 3]


def hash_secret(key: bytes, secret: str) -> str:
    """Keyed hash of a client secret.

    The secrets are 256-bit random values, so a fast keyed hash is as safe as a password KDF
    and costs microseconds per token request instead of hundreds of milliseconds.
    """
    return hmac.new(key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


# A broader permission includes narrower ones, as in Microsoft Graph.
_IMPLIED: dict[str, frozenset[str]] = {
    READWRITE_USERS: frozenset({INVITE, READ_USERS}),
}


def grants(roles: Iterable[str], permission: str) -> bool:
    """Whether token roles (matched case-sensitively, as Graph does) cover `permission`."""
    return any(role == permission or permission in _IMPLIED.get(role, ()) for role in roles)
