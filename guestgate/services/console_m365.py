"""The admin console's sign-in in Microsoft 365 mode: an OpenID Connect client of Entra.

The console signs administrators in with the authorization code flow and PKCE against the
configured authority (`GUESTGATE_CONSOLE_AUTHORITY`, the tenant's v2.0 authority), whose
client is adapters/console_authority.py; the ID token is checked in full there.
The person's console roles come from the directory roles Entra reports in the token's
`wids` claim (template ids, domain/roles.py). Graph mode keeps no users of its own, so the
signed-in person lives in a sealed cookie, not in the database.

Graph keeps no requester, so a guest cannot be told to be a Guest inviter's own: the guests
are shown to administrators and Global Readers, and changed by Global and User
administrators (`changeable`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guestgate.domain.roles import Access, roles_of_directory_roles
from guestgate.domain.tenants import is_guid
from guestgate.domain.users import GUEST, User
from guestgate.errors import NotFound, PermissionDenied
from guestgate.services.directory import Actor
from guestgate.services.user_admin import UserAdmin

DISCOVERY_TTL_SECONDS = 3600.0
MAX_ANSWER_BYTES = 256 * 1024
LEEWAY_SECONDS = 300


@dataclass(frozen=True, slots=True)
class M365Person:
    """Who is signed in to the Microsoft 365 console: from Entra's ID token."""

    tenant_id: str
    object_id: str
    email: str
    name: str
    access: Access
    session_hash: str
    expires_at: int
    signed_in_at: int | None = None  # when the person last entered their credentials

    @property
    def roles(self) -> list[str]:
        return sorted(self.access.roles)

    @property
    def user_id(self) -> str:
        return self.object_id

    def signed_in_since(self, moment: float) -> bool:
        """Whether the person entered their credentials at or after `moment` (epoch
        seconds); False when the sign-in time is unknown."""
        return self.signed_in_at is not None and self.signed_in_at >= moment


def auth_time_of(claims: dict[str, Any]) -> int | None:
    """The ID token's auth_time (epoch seconds), when it carries a valid one."""
    found = claims.get("auth_time")
    if isinstance(found, int) and not isinstance(found, bool) and found > 0:
        return found
    return None


def person_of(
    claims: dict[str, Any], *, session_hash: str, expires_at: int, signed_in_at: int | None
) -> M365Person:
    """The console person an ID token names, with the roles of its `wids`."""
    email = claims.get("email") or claims.get("preferred_username") or claims.get("upn") or ""
    return M365Person(
        tenant_id=str(claims["tid"])[:64],
        object_id=str(claims["oid"])[:64],
        email=str(email)[:320],
        name=str(claims.get("name") or "")[:256],
        access=Access(roles_of_directory_roles(claims.get("wids"))),
        session_hash=session_hash,
        expires_at=expires_at,
        signed_in_at=signed_in_at,
    )


def sealed_person(person: M365Person) -> bytes:
    return json.dumps(
        {
            "t": person.tenant_id,
            "o": person.object_id,
            "e": person.email,
            "n": person.name,
            "r": sorted(person.access.roles),
            "h": person.session_hash,
            "x": person.expires_at,
            "a": person.signed_in_at,
        }
    ).encode()


def opened_person(raw: bytes, *, now: float) -> M365Person | None:
    """The person of a sealed session cookie, None when it is malformed or has expired."""
    try:
        found = json.loads(raw)
        person = M365Person(
            tenant_id=str(found["t"]),
            object_id=str(found["o"]),
            email=str(found["e"]),
            name=str(found["n"]),
            access=Access(frozenset(str(r) for r in found["r"])),
            session_hash=str(found["h"]),
            expires_at=int(found["x"]),
            # A session sealed before the sign-in time was kept has none: unknown.
            signed_in_at=int(found["a"]) if found.get("a") is not None else None,
        )
    except (ValueError, KeyError, TypeError):
        return None
    return person if person.expires_at > now else None


READ_ONLY = (
    "In Microsoft 365 mode only Global and User administrators change guests from the console;"
    " your role lets you see them."
)


async def guest(admin: UserAdmin, actor: Actor, user_id: str) -> User:
    """The tenant's guest of this object id, read from Graph; 404 for anything else."""
    found = await admin.find(actor, user_id) if is_guid(user_id) else None
    if found is None or found.user_type != GUEST:
        raise NotFound(f"There is no guest {user_id[:64]!r} in this tenant.", code="GuestNotFound")
    return found


async def changeable(admin: UserAdmin, person: M365Person, actor: Actor, user_id: str) -> User:
    """The guest, if the person may change it (Global and User administrators); 403 or 404."""
    if not person.access.may_change(sponsored=False, requested=False):
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")
    return await guest(admin, actor, user_id)
