"""Directory users: members and invited guests, with Graph's guest properties."""

from __future__ import annotations

from dataclasses import dataclass

GUEST = "Guest"
MEMBER = "Member"
PENDING = "PendingAcceptance"
ACCEPTED = "Accepted"
INVITATION = "Invitation"


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


def guest_upn(address: str, tenant_domain: str) -> str:
    """``alice@example.com`` → ``alice_example.com#EXT#@contoso.example``, as Entra names guests.

    Callers pass the address with its A-label domain, so a look-alike domain in another
    script shows as ``xn--…`` and cannot pass for the real one.
    """
    return f"{address.replace('@', '_')}#EXT#@{tenant_domain}"
