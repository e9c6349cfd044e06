"""Directory users: members and invited guests, with Graph's guest properties."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

GUEST = "Guest"
MEMBER = "Member"
PENDING = "PendingAcceptance"
ACCEPTED = "Accepted"
INVITATION = "Invitation"
MAX_UPN = 400  # the users.user_principal_name column
GUEST_UPN_MARK = "#EXT#@"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    user_type: str
    display_name: str
    mail: str
    email_key: str
    user_principal_name: str
    external_user_state: str | None
    external_user_state_changed_at: str | None
    creation_type: str | None
    created_at: str
    account_enabled: bool = True  # Graph's accountEnabled: false, no redemption or sign-in


@dataclass(frozen=True, slots=True)
class FirstInvitation:
    """A new guest's first (pending) invitation, as the guest list shows it: written with the
    guest's own row, so the invitation's insert changes no row of the list."""

    invitation_id: str
    expires_at: str | None
    requested_by: str | None
    created_at: str


def guest_upn(address: str, tenant_domain: str, *, attempt: int = 0) -> str:
    """``alice@example.com`` → ``alice_example.com#EXT#@contoso.example``, as Entra names guests.

    Callers pass the address with its A-label domain, so a look-alike domain in another
    script shows as ``xn--…`` and cannot pass for the real one. When that name is taken by
    another user, attempt 1, 2, … number it (``alice_example.com1#EXT#@…``). A name that would
    not fit its column (a long address in a tenant with a long domain) keeps its start and
    ends in eight hex digits of the address's digest instead, so it stays unique and fits.
    """
    prefix = address.replace("@", "_")
    tag = str(attempt) if attempt else ""
    suffix = f"{GUEST_UPN_MARK}{tenant_domain}"
    if len(prefix) + len(tag) + len(suffix) > MAX_UPN:
        digest = hashlib.sha256(address.lower().encode()).hexdigest()[:8]
        prefix = f"{prefix[: MAX_UPN - len(suffix) - len(tag) - 9]}_{digest}"
    return f"{prefix}{tag}{suffix}"


def fold(text: str) -> str:
    """The form text is compared in, the same on every database: NFC, then ``str.lower()``.

    SQLite's LOWER() folds ASCII letters only and PostgreSQL's depends on the database's
    locale, so lookups never fold in SQL: they compare stored keys made with this function
    with values made with it (``Zoë``, ``ZOË`` and ``Zoe\u0308`` are one name).
    """
    return unicodedata.normalize("NFC", text).lower()


def unstorable(text: str) -> bool:
    """Whether a database cannot hold or compare `text`: PostgreSQL refuses NUL in text, and
    neither database takes a lone surrogate (it has no UTF-8 form)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass(frozen=True, slots=True)
class DeletedUser:
    """A deleted user kept for restore, as Entra's deleted items: the user as it was, its
    sponsors, and when it was deleted (purged 30 days later, or at once on request)."""

    user: User
    sponsors: tuple[str, ...]
    deleted_at: str
    last_sign_in_at: str | None = None
