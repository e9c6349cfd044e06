"""Local mode's invited users: a new guest for an address, the existing one, or a reset.

Every unique key of a user (the email key, the userPrincipalName) has an answer here: the
existing guest, a free userPrincipalName, or a 409, and never a constraint error. Changing an
existing user is judged by the user as stored (services/users.py `check_may_change`).
"""

from __future__ import annotations

from dataclasses import replace

from guestgate.domain import invitations as rules
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.randomness import Randomness
from guestgate.domain.tenants import Tenant
from guestgate.domain.users import INVITATION, FirstInvitation, User, guest_upn
from guestgate.errors import Conflict, IntegrityError, NotFound, ValidationError
from guestgate.services.directory import Actor
from guestgate.services.ports import UnitOfWork
from guestgate.services.users import check_may_change

UPN_ATTEMPTS = 10  # userPrincipalNames tried for one address before answering 409


def upn_in_use(address: str) -> Conflict:
    return Conflict(
        f"Every userPrincipalName derived from {address} belongs to another user.",
        code="UserPrincipalNameInUse",
    )


async def guest_for(
    uow: UnitOfWork,
    actor: Actor,
    tenant: Tenant,
    request: InviteRequest,
    stamp: str,
    *,
    rng: Randomness,
    expires_at: str | None,
) -> tuple[User, bool, str]:
    """The invited user of this address: created now, or the existing guest (locked), whose
    pending invitations the caller revokes unless the request repeats one of them; and the id
    of the invitation to make. A new guest's row is written listing that invitation, pending
    until `expires_at`, as its latest (the caller then stores it with `listed`)."""
    # A taken userPrincipalName (a member may hold the name this address derives) gets the
    # guest the next free one; a taken email key means the guest exists already.
    invitation_id = ""
    for attempt in range(UPN_ATTEMPTS):
        candidate = User(
            id=rng.uuid(),
            tenant_id=tenant.id,
            user_type=request.user_type,
            display_name=request.display_name or request.email.address.rsplit("@", 1)[0],
            mail=request.email.address,
            email_key=request.email.key,
            user_principal_name=guest_upn(
                request.email.ascii_address, tenant.primary_domain, attempt=attempt
            ),
            external_user_state=rules.PENDING,
            external_user_state_changed_at=stamp,
            creation_type=INVITATION,
            created_at=stamp,
        )
        # A deleted guest keeps its name until purged (Entra's deleted items), so a restore
        # finds it free: a new guest of that address is numbered past it.
        if await uow.deleted_users.upn_taken(tenant.id, candidate.user_principal_name):
            continue
        # Drawn after the guest's id, the order a seeded generator's users rely on.
        invitation_id = invitation_id or rng.uuid()
        listed = FirstInvitation(
            invitation_id=invitation_id,
            expires_at=expires_at,
            requested_by=None if request.requested_by is None else request.requested_by.address,
            created_at=stamp,
        )
        if await uow.users.add_if_absent(candidate, listed):
            return candidate, True, invitation_id
        existing = await uow.users.get_by_email(tenant.id, request.email.key)
        if existing is not None:
            break
    else:
        raise upn_in_use(request.email.address)
    if existing.creation_type != INVITATION:
        raise ValidationError(
            f"{request.email.address} is already a member of the organization.",
            code="UserIsMember",
        )
    check_may_change(actor.permissions, existing)
    await uow.users.lock(existing.id)
    # Read again under the lock: an accept or reset may have committed since the read.
    locked = await uow.users.get(tenant.id, existing.id)
    if locked is None:
        raise Conflict(
            f"The guest {existing.id} was deleted meanwhile; try again.", code="UserDeleted"
        )
    # The caller revokes its pending invitations (a re-invite).
    return locked, False, invitation_id or rng.uuid()


async def reset_redemption(
    uow: UnitOfWork, actor: Actor, tenant: Tenant, request: InviteRequest, stamp: str
) -> User:
    """Graph's resetRedemption: the same user object redeems again, maybe at a new address."""
    assert request.reset_user_id is not None
    user = await uow.users.get(tenant.id, request.reset_user_id)
    if user is None:
        raise NotFound(
            f"There is no user {request.reset_user_id}.", code="Request_ResourceNotFound"
        )
    if user.creation_type != INVITATION:
        raise ValidationError(
            "resetRedemption applies to invited users only.", code="ResetRedemptionNotAllowed"
        )
    check_may_change(actor.permissions, user)
    other = await uow.users.get_by_email(tenant.id, request.email.key)
    if other is not None and other.id != user.id:
        raise Conflict(f"{request.email.address} belongs to another user.", code="AddressInUse")
    await uow.users.lock(user.id)
    upn = await _free_upn(uow, tenant, request, user.id)
    try:
        await uow.users.reset_redemption(
            user.id, mail=request.email.address, email_key=request.email.key, upn=upn, now=stamp
        )
    except IntegrityError:
        # Another reset or first invite took the address (or name) since the check above.
        raise Conflict(
            f"{request.email.address} belongs to another user.", code="AddressInUse"
        ) from None
    await uow.invitations.revoke_pending_of_user(user.id, stamp)
    return replace(
        user,
        mail=request.email.address,
        email_key=request.email.key,
        user_principal_name=upn,
        external_user_state=rules.PENDING,
        external_user_state_changed_at=stamp,
    )


async def _free_upn(uow: UnitOfWork, tenant: Tenant, request: InviteRequest, user_id: str) -> str:
    for attempt in range(UPN_ATTEMPTS):
        upn = guest_upn(request.email.ascii_address, tenant.primary_domain, attempt=attempt)
        holder = await uow.users.get_by_upn(tenant.id, upn)
        if (holder is None or holder.id == user_id) and not await uow.deleted_users.upn_taken(
            tenant.id, upn
        ):
            return upn
    raise upn_in_use(request.email.address)
