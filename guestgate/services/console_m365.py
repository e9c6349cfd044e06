"""The admin console's sign-in in Microsoft 365 mode: an OpenID Connect client of Entra.

The console signs administrators in with the authorization code flow and PKCE against the
configured authority (`GUESTGATE_CONSOLE_AUTHORITY`, the tenant's v2.0 authority), whose
client is adapters/console_authority.py; the ID token is checked in full there.
The person's console roles come from the directory roles Entra reports in the token's
`wids` claim (template ids, domain/roles.py). Graph mode keeps no users of its own, so the
signed-in person lives in a sealed cookie, not in the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guestgate.domain.roles import Access, roles_of_directory_roles

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

    @property
    def roles(self) -> list[str]:
        return sorted(self.access.roles)


def person_of(claims: dict[str, Any], *, session_hash: str, expires_at: int) -> M365Person:
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
        )
    except (ValueError, KeyError, TypeError):
        return None
    return person if person.expires_at > now else None
