"""Attestation: a sponsor keeps a guest (every rule's clock starts again) or removes them.

Three ways in: the signed, single-use links of the notice mail, the console's guest profile
(Keep / Remove), and Graph's `POST /users/{id}/microsoft.graph.identityGovernance.attest`
(a keep; no body, 204). Links are JWTs signed with the service's own signing keys
(domain/signing.py), naming the tenant, the guest, the sponsor and the choice; each link's
`jti` is written once, so a second use is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from guestgate.domain.signing import KeySet, sign
from guestgate.domain.timestamps import iso
from guestgate.errors import NotFound, ValidationError
from guestgate.services.lifecycle_ports import (
    GuestFactsSource,
    LifecycleActions,
    LifecycleUnitOfWork,
)

AUDIENCE = "guestgate:lifecycle-attest"
KEEP = "keep"
REMOVE = "remove"
LINK_LIFETIME = timedelta(days=30)
LINK_USED = "attestationLinkUsed"
LINK_INVALID = "attestationLinkInvalid"
LINK_NOT_SPONSOR = "attestationLinkNotSponsor"


@dataclass(frozen=True, slots=True)
class LinkClaims:
    tenant_id: str
    user_id: str
    sponsor: str
    choice: str
    jti: str


def link_token(
    keys: KeySet, *, tenant_id: str, user_id: str, sponsor: str, choice: str, now: datetime
) -> str:
    """A signed link token for one choice of one sponsor about one guest."""
    issued = int(now.timestamp())
    claims = {
        "aud": AUDIENCE,
        "tid": tenant_id,
        "sub": user_id,
        "spn": sponsor,
        "act": choice,
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "exp": issued + int(LINK_LIFETIME.total_seconds()),
    }
    return sign(keys, claims)


def read_link(keys: KeySet, token: str, *, now: datetime) -> LinkClaims:
    """The link's claims, once its signature, audience and expiry check out."""
    invalid = ValidationError("This link is not valid or has expired.", code=LINK_INVALID)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = keys.public_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise invalid
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=AUDIENCE,
            options={"verify_iat": False, "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise invalid from None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now.timestamp():
        raise invalid
    if claims.get("act") not in (KEEP, REMOVE):
        raise invalid
    return LinkClaims(
        tenant_id=str(claims["tid"]),
        user_id=str(claims["sub"]),
        sponsor=str(claims["spn"]),
        choice=str(claims["act"]),
        jti=str(claims["jti"]),
    )


async def _still_sponsor(
    actions: LifecycleActions, tenant_id: str, user_id: str, sponsor: str
) -> bool:
    """Whether the link's sponsor may still decide: one of the guest's sponsors, or, for a
    guest with none, the policy's fallback address the notice went to (an address)."""
    sponsors = await actions.sponsors_of(tenant_id, user_id)
    if not sponsors:
        return "@" in sponsor
    return any(s.id == sponsor for s in sponsors)


async def _audit(
    uow: LifecycleUnitOfWork, tenant_id: str, user_id: str, choice: str, by: str, now: datetime
) -> None:
    await uow.audit.record(
        tenant_id=tenant_id,
        actor=by,
        action=f"lifecycle.attest.{choice}",
        target=user_id,
        created_at=iso(now),
        details={"attestedBy": by},
    )


async def attest(
    uow: LifecycleUnitOfWork,
    actions: LifecycleActions,
    *,
    guests: GuestFactsSource,
    tenant_id: str,
    user_id: str,
    choice: str,
    by: str,
    now: datetime,
    jti: str | None = None,
    sponsor: str | None = None,
) -> None:
    """Keep (the clocks start again) or remove (delete) a guest, audited; with `jti`, the
    link that carried the choice is used up in the same transaction, and with `sponsor`
    (the link's), it must still be one of the guest's sponsors. The guest and the sponsors
    are looked up first, outside the transaction (in Graph, in Microsoft 365 mode)."""
    if await guests.guest(tenant_id, user_id) is None:
        raise NotFound(
            f"There is no guest {user_id[:64]} in this organization.",
            code="Request_ResourceNotFound",
        )
    if sponsor is not None and not await _still_sponsor(actions, tenant_id, user_id, sponsor):
        raise ValidationError(
            "This link's sponsor no longer sponsors the guest.", code=LINK_NOT_SPONSOR
        )
    async with uow:
        if jti is not None and not await uow.lifecycle.use_link(jti, user_id, at=iso(now)):
            raise ValidationError("This link was used already.", code=LINK_USED)
        if choice == KEEP:
            await uow.lifecycle.keep(tenant_id, user_id, at=iso(now), by=by)
        await _audit(uow, tenant_id, user_id, choice, by, now)
        await uow.commit()
    if choice == REMOVE:
        await actions.delete(tenant_id, user_id)
