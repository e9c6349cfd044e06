"""Invitation use-cases: invite a guest, read invitations, resend, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from guestgate.domain import invitations as rules
from guestgate.domain import messages
from guestgate.domain.emails import domain_matches, parse_email
from guestgate.domain.invitations import Invitation, InviteRequest
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso
from guestgate.domain.users import ACCEPTED, INVITATION, MEMBER, User, guest_upn
from guestgate.errors import AuthenticationError, Conflict, NotFound, ValidationError
from guestgate.services import outbox
from guestgate.services.ports import Sealer, UnitOfWork


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: the calling app (None from the CLI) and the request, for the audit trail."""

    tenant_id: str
    app_id: str | None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class InviteResult:
    user: User
    invitation: Invitation
    redeem_url: str
    status: str


async def _tenant(uow: UnitOfWork, tenant_id: str, *, links: bool = True) -> Tenant:
    tenant = await uow.tenants.get(tenant_id, links=links)
    if tenant is None:
        # Only a deleted tenant (or a forged token) gets here: the token is no longer good.
        raise AuthenticationError("The tenant of this access token does not exist.")
    return tenant


def default_redirect(public_url: str, tenant: Tenant) -> str:
    return tenant.landing_url or f"{public_url}/welcome?tenant={tenant.id}"


async def invite_guest(
    uow: UnitOfWork,
    *,
    actor: Actor,
    request: InviteRequest,
    public_url: str,
    now: datetime,
    sealer: Sealer,
) -> InviteResult:
    """Invite an address as a guest: one guest per address, a fresh ticket on every call.

    The invitation email and the requester's notification are outbox rows written in the
    same transaction: either all of it is stored, or none of it.
    """
    stamp = iso(now)
    ticket = rules.new_ticket()
    async with uow:
        # The links (landing page for the default redirect, logo and privacy statement for
        # the email) are read fresh; an invite that needs neither may use the tenant cache.
        links = request.redirect_url is None or request.send_message
        tenant = await _tenant(uow, actor.tenant_id, links=links)
        if domain_matches(request.email.domain, tenant.domains):
            raise ValidationError(
                f"{request.email.address} is on one of the organization's own domains;"
                " members are not invited as guests.",
                code="AddressInTenantDomain",
            )
        if request.reset_user_id is not None:
            user, created = await _reset_redemption(uow, tenant, request, stamp), False
        else:
            user, created = await _guest_for(uow, tenant, request, stamp)
        if request.sponsors:
            for sponsor in request.sponsors:
                if await uow.users.get(tenant.id, sponsor) is None:
                    raise ValidationError(
                        f"The sponsor {sponsor} is not a user of the organization.",
                        code="InvalidSponsor",
                    )
            await uow.users.set_sponsors(user.id, list(request.sponsors))
        accepted = user.external_user_state == ACCEPTED
        invitation = Invitation(
            id=str(uuid.uuid4()),
            tenant_id=tenant.id,
            user_id=user.id,
            email=request.email.address,
            status=rules.COMPLETED if accepted else rules.PENDING,
            redirect_url=request.redirect_url or default_redirect(public_url, tenant),
            send_message=request.send_message,
            requested_by=None if request.requested_by is None else request.requested_by.address,
            more=request.more,
            message_info=None if request.message_info is None else request.message_info.to_json(),
            created_by_app=actor.app_id,
            created_at=stamp,
            expires_at=None if accepted else rules.expiry(now, tenant.invitation_lifetime_days),
            completed_at=stamp if accepted else None,
            revoked_at=None,
        )
        await uow.invitations.add(invitation, rules.ticket_hash(ticket))
        url = rules.redeem_url(public_url, tenant.id, user.id, ticket)
        if request.send_message:
            await _enqueue_invitation(uow, sealer, tenant, user, invitation, url, now)
        if request.requested_by is not None:
            await outbox.enqueue(
                uow,
                sealer=sealer,
                tenant_id=tenant.id,
                kind=messages.REQUESTER_NOTIFICATION,
                recipient=request.requested_by.address,
                payload={
                    "to": request.requested_by.address,
                    "org": tenant.name,
                    "guest": request.email.address,
                    "language": None,
                },
                now=now,
            )
        await uow.audit.record(
            tenant_id=tenant.id,
            app_id=actor.app_id,
            actor=invitation.requested_by,
            action="invitation.create" if created else "invitation.reinvite",
            target=user.id,
            request_id=actor.request_id,
            created_at=stamp,
            details={"invitationId": invitation.id, "email": request.email.ascii_address},
        )
        await uow.commit()
    return InviteResult(user=user, invitation=invitation, redeem_url=url, status=invitation.status)


async def _guest_for(
    uow: UnitOfWork, tenant: Tenant, request: InviteRequest, stamp: str
) -> tuple[User, bool]:
    """The invited user of this address: created now, or the existing guest (locked)."""
    candidate = User(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        user_type=request.user_type,
        display_name=request.display_name or request.email.address.rsplit("@", 1)[0],
        mail=request.email.address,
        email_key=request.email.key,
        user_principal_name=guest_upn(request.email.ascii_address, tenant.primary_domain),
        external_user_state=rules.PENDING,
        external_user_state_changed_at=stamp,
        creation_type=INVITATION,
        created_at=stamp,
    )
    if await uow.users.add_if_absent(candidate):
        return candidate, True
    existing = await uow.users.get_by_email(tenant.id, request.email.key)
    assert existing is not None  # the insert conflicted on exactly this key
    if existing.creation_type != INVITATION:
        raise ValidationError(
            f"{request.email.address} is already a member of the organization.",
            code="UserIsMember",
        )
    await uow.users.lock(existing.id)
    await uow.invitations.revoke_pending_of_user(existing.id, stamp)
    return existing, False


async def _reset_redemption(
    uow: UnitOfWork, tenant: Tenant, request: InviteRequest, stamp: str
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
    other = await uow.users.get_by_email(tenant.id, request.email.key)
    if other is not None and other.id != user.id:
        raise Conflict(f"{request.email.address} belongs to another user.", code="AddressInUse")
    await uow.users.lock(user.id)
    upn = guest_upn(request.email.ascii_address, tenant.primary_domain)
    await uow.users.reset_redemption(
        user.id, mail=request.email.address, email_key=request.email.key, upn=upn, now=stamp
    )
    await uow.invitations.revoke_pending_of_user(user.id, stamp)
    return replace(
        user,
        mail=request.email.address,
        email_key=request.email.key,
        user_principal_name=upn,
        external_user_state=rules.PENDING,
        external_user_state_changed_at=stamp,
    )


async def _enqueue_invitation(
    uow: UnitOfWork,
    sealer: Sealer,
    tenant: Tenant,
    user: User,
    invitation: Invitation,
    url: str,
    now: datetime,
) -> None:
    info = invitation.message_info or {}
    recipients = info.get("ccRecipients") or []
    cc = None
    if recipients:
        address = recipients[0]["emailAddress"]
        cc = [address.get("name"), address["address"]]
    await outbox.enqueue(
        uow,
        sealer=sealer,
        tenant_id=tenant.id,
        kind=messages.INVITATION,
        recipient=invitation.email,
        payload={
            "to": invitation.email,
            "to_name": user.display_name,
            "cc": cc,
            "org": tenant.name,
            "logo_url": tenant.logo_url,
            "inviter": invitation.requested_by,
            "redeem_url": url,
            "language": info.get("messageLanguage"),
            "body": info.get("customizedMessageBody"),
            "expires": invitation.expires_at,
        },
        now=now,
    )


async def get_invitation(uow: UnitOfWork, *, tenant_id: str, invitation_id: str) -> Invitation:
    """One invitation of the caller's tenant."""
    async with uow:
        found = await uow.invitations.get(tenant_id, invitation_id.lower())
    if found is None:
        raise NotFound(f"There is no invitation {invitation_id}.", code="InvitationNotFound")
    return found


async def list_invitations(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    now: datetime,
    status: str | None,
    email: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> Sequence[Invitation]:
    """The tenant's invitations, newest first, optionally by status and address."""
    if status is not None and status not in rules.STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(rules.STATUSES)}.", code="InvalidStatusFilter"
        )
    key = None if email is None else parse_email(email, field="email").key
    async with uow:
        return await uow.invitations.list(
            tenant_id, now=iso(now), status=status, email_key=key, after=after, limit=limit
        )


async def resend_invitation(
    uow: UnitOfWork,
    *,
    actor: Actor,
    invitation_id: str,
    public_url: str,
    now: datetime,
    sealer: Sealer,
) -> InviteResult:
    """A new ticket (the old link stops working), a new expiry, and the email again."""
    ticket = rules.new_ticket()
    async with uow:
        tenant = await _tenant(uow, actor.tenant_id)
        invitation = await uow.invitations.get(tenant.id, invitation_id.lower())
        if invitation is None:
            raise NotFound(f"There is no invitation {invitation_id}.", code="InvitationNotFound")
        if invitation.status != rules.PENDING:
            raise Conflict(
                f"Only pending invitations can be resent; this one is {invitation.status}.",
                code="InvitationNotPending",
            )
        expires_at = rules.expiry(now, tenant.invitation_lifetime_days)
        await uow.invitations.replace_ticket(
            invitation.id, ticket_hash=rules.ticket_hash(ticket), expires_at=expires_at
        )
        user = await uow.users.get(tenant.id, invitation.user_id)
        assert user is not None
        refreshed = replace(invitation, expires_at=expires_at)
        url = rules.redeem_url(public_url, tenant.id, user.id, ticket)
        await _enqueue_invitation(uow, sealer, tenant, user, refreshed, url, now)
        await uow.audit.record(
            tenant_id=tenant.id,
            app_id=actor.app_id,
            action="invitation.resend",
            target=user.id,
            request_id=actor.request_id,
            created_at=iso(now),
            details={"invitationId": invitation.id},
        )
        await uow.commit()
    return InviteResult(user=user, invitation=refreshed, redeem_url=url, status=rules.PENDING)


async def revoke_invitation(
    uow: UnitOfWork, *, actor: Actor, invitation_id: str, now: datetime
) -> Invitation:
    """Kill the invitation's ticket; the guest can no longer redeem it."""
    async with uow:
        invitation = await uow.invitations.get(actor.tenant_id, invitation_id.lower())
        if invitation is None:
            raise NotFound(f"There is no invitation {invitation_id}.", code="InvitationNotFound")
        if invitation.status == rules.REVOKED:
            return invitation
        if invitation.status != rules.PENDING:
            raise Conflict(
                f"Only pending invitations can be revoked; this one is {invitation.status}.",
                code="InvitationNotPending",
            )
        await uow.invitations.set_status(
            invitation.id, status=rules.REVOKED, from_status=rules.PENDING, now=iso(now)
        )
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id,
            action="invitation.revoke",
            target=invitation.user_id,
            request_id=actor.request_id,
            created_at=iso(now),
            details={"invitationId": invitation.id},
        )
        await uow.commit()
    return replace(invitation, status=rules.REVOKED, revoked_at=iso(now))


async def create_member(
    uow: UnitOfWork, *, tenant_id: str, email: str, display_name: str, now: datetime
) -> User:
    """Add a member of the organization (so invitations of that address are refused)."""
    address = parse_email(email, field="email")
    stamp = iso(now)
    user = User(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        user_type=MEMBER,
        display_name=display_name,
        mail=address.address,
        email_key=address.key,
        user_principal_name=address.address,
        external_user_state=None,
        external_user_state_changed_at=None,
        creation_type=None,
        created_at=stamp,
    )
    async with uow:
        await _tenant(uow, tenant_id)
        if not await uow.users.add_if_absent(user):
            raise Conflict(f"{address.address} is already in the directory.", code="UserExists")
        await uow.audit.record(
            tenant_id=tenant_id, action="user.create", target=user.id, created_at=stamp
        )
        await uow.commit()
    return user


async def list_guests(
    uow: UnitOfWork, *, tenant_id: str, pending_only: bool, limit: int = 1000
) -> Sequence[User]:
    """The tenant's guests, oldest first."""
    async with uow:
        return await uow.users.list_guests(tenant_id, pending_only=pending_only, limit=limit)
