"""Tenants and their domain names."""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

from guestgate.errors import ValidationError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_TENANT_NAME = 256
MAX_INVITATION_LIFETIME_DAYS = 365


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    domains: tuple[str, ...]
    created_at: str
    invitation_lifetime_days: int = 30
    privacy_url: str | None = None
    logo_url: str | None = None
    landing_url: str | None = None
    logo_etag: str | None = None  # set when guestgate holds the tenant's logo image

    @property
    def primary_domain(self) -> str:
        return self.domains[0]


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def is_guid(text: str) -> bool:
    """A GUID in its canonical hyphenated form, in either case (every tenant reference in a
    URL is checked with this)."""
    return _GUID.fullmatch(text) is not None


def normalise_domain(text: str) -> str:
    """Return the lower-case A-label form of a DNS name, or raise ValidationError.

    Unicode names are mapped with UTS 46 and encoded with IDNA 2008, so one domain has one
    spelling in the database whatever form the caller typed.
    """
    if not text or len(text) > 253 or text != text.strip() or text.endswith("."):
        raise ValidationError(f"{text!r} is not a valid domain name", code="InvalidDomain")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(
            f"{text!r} is not a valid domain name", code="InvalidDomain"
        ) from None
    labels = ascii_name.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValidationError(f"{text!r} is not a valid domain name", code="InvalidDomain")
    return ascii_name


def check_tenant_name(name: str) -> str:
    cleaned = name.strip()
    if (
        not cleaned
        or len(cleaned) > MAX_TENANT_NAME
        or any(ord(c) < 32 or ord(c) == 127 for c in cleaned)
    ):
        raise ValidationError(
            "a tenant name is 1-256 printable characters", code="InvalidTenantName"
        )
    return cleaned


def check_invitation_lifetime(days: int) -> int:
    """Days a new redeem link stays valid: 1-365, or 0 for links that never expire."""
    if isinstance(days, bool) or not 0 <= days <= MAX_INVITATION_LIFETIME_DAYS:
        raise ValidationError(
            f"the invitation lifetime is 0-{MAX_INVITATION_LIFETIME_DAYS} days"
            f" (0: never expires), got {days}",
            code="InvalidInvitationLifetime",
        )
    return days
