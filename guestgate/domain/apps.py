"""App registrations, their permissions and client secrets."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.errors import ValidationError

# Application permissions guestgate understands, named as in Microsoft Graph.
INVITE = "User.Invite.All"
READ_USERS = "User.Read.All"
READ_AUDIT = "AuditLog.Read.All"
READWRITE_USERS = "User.ReadWrite.All"
# Register, change and delete the tenant's apps through /v1.0/applications. It grants no
# application permission: those stay with the operator's CLI (`app create --permission`).
READWRITE_APPS = "Application.ReadWrite.All"
# The tenant's invitation policy (domain list and allowInvitesFrom): read, and change.
READ_POLICY = "Policy.Read.All"
WRITE_POLICY = "Policy.ReadWrite.Authorization"
# Guest lifecycle policies (/v1.0/identityGovernance/lifecycleWorkflows/lifecyclePolicies).
READ_LIFECYCLE = "LifecyclePolicies-Guests.Read.All"
WRITE_LIFECYCLE = "LifecyclePolicies-Guests.ReadWrite.All"
PERMISSIONS = (
    INVITE,
    READ_USERS,
    READ_AUDIT,
    READWRITE_USERS,
    READWRITE_APPS,
    READ_POLICY,
    WRITE_POLICY,
    READ_LIFECYCLE,
    WRITE_LIFECYCLE,
)

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
    # Sign-in (OpenID Connect): where codes may be sent, and whether the app holds a secret.
    redirect_uris: tuple[str, ...] = ()
    public_client: bool = False
    app_id_uri: str | None = None  # names the app's own API in scopes: `<uri>/<scope>`
    api_scopes: tuple[str, ...] = ()  # the delegated scopes that API exposes


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


def lifetime_until(end: str, now: datetime) -> timedelta:
    """The lifetime of a secret that ends at the ISO-8601 moment `end` (Graph's endDateTime).

    A day more than two years is allowed, so "now plus two calendar years" works in a leap year.
    """
    try:
        moment = datetime.fromisoformat(end)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            f"endDateTime {end[:40]!r} is not an ISO-8601 date and time with a time zone",
            code="InvalidLifetime",
        )
    lifetime = moment - now
    if lifetime <= timedelta(0) or lifetime > MAX_SECRET_LIFETIME + timedelta(days=1):
        raise ValidationError(
            "endDateTime must be in the future and at most two years away",
            code="InvalidLifetime",
        )
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
    WRITE_POLICY: frozenset({READ_POLICY}),
    WRITE_LIFECYCLE: frozenset({READ_LIFECYCLE}),
}


def grants(roles: Iterable[str], permission: str) -> bool:
    """Whether token roles (matched case-sensitively, as Graph does) cover `permission`."""
    return any(role == permission or permission in _IMPLIED.get(role, ()) for role in roles)


MAX_REDIRECT_URIS = 64
MAX_URI_LENGTH = 1024
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_LOOPBACK_AUTHORITY = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?", re.ASCII)
RESERVED_API_HOSTS = frozenset(
    {"guestgate", "graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}
)
_SCOPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _printable_ascii(text: str) -> bool:
    return all(33 <= ord(c) < 127 for c in text)


def check_redirect_uri(uri: str) -> str:
    """A redirect URI an app may register: https, or http on a loopback host (RFC 8252).

    Compared later byte for byte, so it is stored exactly as given: no fragment (RFC 6749
    §3.1.2), no user info, no wildcards.
    """
    if not uri or len(uri) > MAX_URI_LENGTH or not _printable_ascii(uri) or "*" in uri:
        raise ValidationError(
            f"a redirect URI is 1-{MAX_URI_LENGTH} printable ASCII characters without '*'",
            code="InvalidRedirectUri",
        )
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise ValidationError(f"{uri!r} is not a URL", code="InvalidRedirectUri") from None
    if parts.fragment or "#" in uri or "@" in parts.netloc or "\\" in uri:
        raise ValidationError(
            "a redirect URI has no fragment and no user info", code="InvalidRedirectUri"
        )
    host = (parts.hostname or "").lower()
    loopback = parts.scheme == "http" and _netloc_host(parts.netloc) in LOOPBACK_HOSTS
    if not host or not (parts.scheme == "https" or loopback):
        raise ValidationError(
            f"{uri!r}: redirect URIs use https (http only for localhost, 127.0.0.1 or [::1])",
            code="InvalidRedirectUri",
        )
    return uri


def _netloc_host(netloc: str) -> str:
    """The host part of a netloc as written (case kept), without the port."""
    if netloc.startswith("["):
        return netloc[: netloc.find("]") + 1]
    return netloc.partition(":")[0]


def check_redirect_uris(uris: Iterable[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for uri in uris:
        checked = check_redirect_uri(uri)
        if checked not in chosen:
            chosen.append(checked)
    if len(chosen) > MAX_REDIRECT_URIS:
        raise ValidationError(
            f"an app has at most {MAX_REDIRECT_URIS} redirect URIs", code="InvalidRedirectUri"
        )
    return tuple(chosen)


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Exact string comparison; only a loopback URI's port may differ (RFC 8252 §7.3)."""
    if registered == presented:
        return True
    if not registered.startswith("http://") or not presented.startswith("http://"):
        return False
    try:
        mine, theirs = urlsplit(registered), urlsplit(presented)
        theirs.port  # noqa: B018
    except ValueError:
        return False
    host = _netloc_host(mine.netloc)
    # The presented authority must be the host and at most a port of ASCII digits. A
    # host-and-port reading of `localhost:@evil.example` or `localhost:1@evil.example`
    # finds `localhost`, but a browser reads user info there and goes to evil.example,
    # carrying the code.
    if host not in LOOPBACK_HOSTS or not _LOOPBACK_AUTHORITY.fullmatch(theirs.netloc):
        return False
    if _netloc_host(theirs.netloc) != host:
        return False
    return (mine.path, mine.query, mine.fragment) == (theirs.path, theirs.query, theirs.fragment)


def check_app_id_uri(uri: str) -> str:
    """An application ID URI: ``api://…`` or an https URL, without a trailing slash."""
    if not uri or len(uri) > 400 or not _printable_ascii(uri) or uri.endswith("/"):
        raise ValidationError(
            "an application ID URI is 1-400 printable ASCII characters, not ending in '/'",
            code="InvalidAppIdUri",
        )
    parts = urlsplit(uri)
    if parts.scheme not in ("api", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValidationError(
            f"{uri!r}: an application ID URI looks like api://<name> or https://<host>/<path>",
            code="InvalidAppIdUri",
        )
    if parts.netloc.lower() in RESERVED_API_HOSTS:
        # Tokens for these audiences open guestgate's own APIs: no app may claim them.
        raise ValidationError(f"{uri!r} names one of guestgate's own APIs", code="InvalidAppIdUri")
    return uri


def scope_id(app_object_id: str, name: str) -> str:
    """The id of an exposed scope: derived from the app and the scope's name, so it is stable."""
    return str(uuid.uuid5(uuid.UUID(app_object_id), name))


def check_api_scopes(names: Iterable[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for name in names:
        if not _SCOPE_NAME.match(name) or name in ("openid", "profile", "email", "offline_access"):
            raise ValidationError(
                f"{name!r} is not a scope name: 1-64 letters, digits, '.', '_' or '-'",
                code="InvalidScope",
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)
