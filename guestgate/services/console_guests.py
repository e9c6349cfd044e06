"""What the admin console shows and does with guests, within the signed-in person's roles.

Reading goes through the guest list (ports.GuestList); every change goes through the same
InvitationService use-cases as the API, with the person as the audit trail's actor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from guestgate.domain.audit import AuditRecord
from guestgate.domain.console import GuestFilter, GuestRow
from guestgate.domain.invitations import Invitation, InviteRequest
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.domain.users import User, fold
from guestgate.domain.views import InvitationView
from guestgate.errors import NotFound, PermissionDenied
from guestgate.services.console import Person
from guestgate.services.directory import Actor
from guestgate.services.invitations import InvitationService
from guestgate.services.ports import UnitOfWork

AUDIT_WINDOW = 2000  # the tenant's latest audit rows searched for one guest's entries
READ_ONLY = "Your role lets you see guests, not change them."


@dataclass(frozen=True, slots=True)
class GuestPage:
    rows: list[GuestRow]
    count: int
    next_after: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class Profile:
    row: GuestRow
    user: User
    invitations: list[Invitation]
    audit: list[AuditRecord]
    last_sign_in: str | None
    last_successful_sign_in: str | None


def scoped(person: Person, where: GuestFilter) -> GuestFilter:
    """The filter narrowed to what the person may see (administrators and readers: all)."""
    if person.access.sees_all:
        return where
    return replace(where, within=(person.email, person.user.id))


async def list_guests(
    uow: UnitOfWork, *, person: Person, where: GuestFilter, now: datetime
) -> GuestPage:
    """One page of guests and the count of all that match, both within the person's view."""
    where = scoped(person, where)
    async with uow:
        rows = list(await uow.guest_list.page(person.user.tenant_id, where, now=iso(now)))
        count = await uow.guest_list.count(
            person.user.tenant_id, replace(where, after=None), now=iso(now)
        )
    more = len(rows) > where.top
    rows = rows[: where.top]
    last = rows[-1] if more else None
    return GuestPage(rows, count, None if last is None else (last.sort_value, last.user_id))


def _relation(person: Person, row: GuestRow) -> tuple[bool, bool]:
    """(sponsored, requested): how the person stands to the guest."""
    requested = row.requester is not None and fold(row.requester) == fold(person.email)
    return person.user.id in row.sponsors, requested


def may_change(person: Person, row: GuestRow) -> bool:
    """Whether the person may resend or revoke this guest's invitation."""
    sponsored, requested = _relation(person, row)
    return person.access.may_change(sponsored=sponsored, requested=requested)


async def _visible(uow: UnitOfWork, person: Person, user_id: str, now: datetime) -> GuestRow:
    if not is_guid(user_id):
        raise NotFound("There is no such guest in this organization.", code="GuestNotFound")
    found = await uow.guest_list.page(
        person.user.tenant_id, GuestFilter(user_id=user_id.lower(), top=1), now=iso(now)
    )
    if not found:
        raise NotFound("There is no such guest in this organization.", code="GuestNotFound")
    row = found[0]
    sponsored, requested = _relation(person, row)
    if not person.access.may_see(sponsored=sponsored, requested=requested):
        raise PermissionDenied(
            "Your role does not let you see this guest: you neither sponsor nor requested it.",
            code="GuestNotYours",
        )
    return row


async def profile(uow: UnitOfWork, *, person: Person, user_id: str, now: datetime) -> Profile:
    """A guest's properties, invitations, audit entries and sign-in activity."""
    tenant_id = person.user.tenant_id
    async with uow:
        row = await _visible(uow, person, user_id, now)
        user = await uow.users.get(tenant_id, row.user_id)
        assert user is not None
        invitations = await uow.invitations.list(
            tenant_id, now=iso(now), status=None, email_key=user.email_key, after=None, limit=50
        )
        audit = [
            a for a in await uow.audit.list(tenant_id, limit=AUDIT_WINDOW) if a.target == user.id
        ]
        activity = (await uow.signin.activity([user.id])).get(user.id, (None, None))
    return Profile(row, user, list(invitations), audit, activity[0], activity[1])


def actor_of(person: Person, *, tenant_name: str | None, request_id: str | None) -> Actor:
    return Actor(
        tenant_id=person.user.tenant_id,
        app_id=None,
        request_id=request_id,
        tenant_name=tenant_name,
        user=person.email,
    )


async def invite(
    service: InvitationService, *, person: Person, actor: Actor, request: InviteRequest
) -> InvitationView:
    """An invitation from the console, through the governance gate like any other."""
    if not person.access.may_invite:
        raise PermissionDenied("Your role does not let you invite guests.", code="CannotInvite")
    return await service.invite(actor, request)


async def change(
    uow: UnitOfWork,
    service: InvitationService,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    action: str,
    now: datetime,
) -> InvitationView:
    """Resend or revoke the guest's latest invitation."""
    if not person.access.may_manage:
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")
    async with uow:
        row = await _visible(uow, person, user_id, now)
    if not may_change(person, row):
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")
    if row.invitation_id is None:
        raise NotFound("This guest has no invitation to change.", code="NoInvitation")
    if action == "resend":
        return await service.resend(actor, row.invitation_id)
    return await service.revoke(actor, row.invitation_id)
