"""What the admin console shows and does with guests, within the signed-in person's roles.

Reading goes through the guest list (ports.GuestList); every change goes through the same
InvitationService use-cases as the API, with the person as the audit trail's actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from guestgate.domain.audit import AuditRecord
from guestgate.domain.console import GuestFilter, GuestRow
from guestgate.domain.invitations import (
    Invitation,
    InviteRequest,
    build_invite_request,
)
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.domain.users import User, fold
from guestgate.domain.views import InvitationView
from guestgate.errors import GuestgateError, NotFound, PermissionDenied, ValidationError
from guestgate.services.console import Person
from guestgate.services.directory import Actor
from guestgate.services.invitations import InvitationService
from guestgate.services.ports import UnitOfWork
from guestgate.services.user_admin import UserAdmin, check_display_name

AUDIT_WINDOW = 2000  # the tenant's latest audit rows searched for one guest's entries
READ_ONLY = "Your role lets you see guests, not change them."
MAX_SELECTION = 100  # guests in one bulk action
ACTIONS = ("resend", "revoke", "delete", "reset", "rename")
BULK_ACTIONS = ("resend", "revoke", "delete")


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


async def changeable(uow: UnitOfWork, person: Person, user_id: str, now: datetime) -> GuestRow:
    """The guest's row, if the person may see and change it; raises 403 or 404 otherwise."""
    if not person.access.may_manage:
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")
    async with uow:
        row = await _visible(uow, person, user_id, now)
    if not may_change(person, row):
        raise PermissionDenied(
            "Your role lets you see this guest, not change it.", code="ReadOnlyRole"
        )
    return row


async def change(
    uow: UnitOfWork,
    service: InvitationService,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    action: str,
    now: datetime,
) -> InvitationView | None:
    """Resend or revoke the guest's latest invitation, or delete the guest, through the
    API's use-cases (InvitationService); None for a delete."""
    if action not in BULK_ACTIONS:
        raise ValidationError(f"There is no action {action[:32]!r}.", code="UnknownAction")
    row = await changeable(uow, person, user_id, now)
    if action == "delete":
        await service.delete_user(actor, row.user_id)
        return None
    if row.invitation_id is None:
        raise NotFound("This guest has no invitation to change.", code="NoInvitation")
    if action == "resend":
        return await service.resend(actor, row.invitation_id)
    return await service.revoke(actor, row.invitation_id)


async def reset_redemption(
    uow_of: Callable[[], UnitOfWork],
    service: InvitationService,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    now: datetime,
) -> InvitationView:
    """Graph's resetRedemption: a new invitation, mailed, for the same user object (its id,
    groups and history stay); the guest redeems again and every earlier link stops working.
    The invitation keeps the latest one's redirect URL and requester."""
    row = await changeable(uow_of(), person, user_id, now)
    async with uow_of() as uow:
        user = await uow.users.get(person.user.tenant_id, row.user_id)
        latest = None
        if row.invitation_id is not None:
            latest = await uow.invitations.get(person.user.tenant_id, row.invitation_id)
    if user is None:
        raise NotFound("There is no such guest in this organization.", code="GuestNotFound")
    request = build_invite_request(
        email=user.mail,
        redirect_url=None if latest is None else latest.redirect_url,
        send_message=True,
        requested_by=row.requester,
        reset_user_id=user.id,
    )
    return await service.invite(actor, request)


async def rename(
    admin: UserAdmin,
    read: UnitOfWork,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    display_name: str,
    now: datetime,
) -> str:
    """Set the guest's display name through the directory port (services/user_admin.py),
    audited as user.update with the old and new name and the person as actor; the name as
    stored."""
    check_display_name(display_name)  # a bad name is named before the guest is looked up
    row = await changeable(read, person, user_id, now)
    return await admin.set_display_name(actor, row.user_id, display_name)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One selected guest's result in a bulk action."""

    user_id: str
    label: str  # name and address, as the confirmation listed them
    ok: bool
    text: str


def check_selection(ids: list[str]) -> list[str]:
    """The selected guest ids, each once, in order; a bad or overlong selection is named."""
    if not ids:
        raise ValidationError("Select at least one guest.", code="EmptySelection")
    if len(ids) > MAX_SELECTION:
        raise ValidationError(
            f"Select at most {MAX_SELECTION} guests at a time; {len(ids)} were selected.",
            code="SelectionTooLarge",
        )
    seen: dict[str, None] = {}
    for user_id in ids:
        if not is_guid(user_id):
            raise ValidationError("The selection names a guest that does not exist.")
        seen[user_id.lower()] = None
    return list(seen)


async def selected(
    uow: UnitOfWork, *, person: Person, ids: list[str], now: datetime
) -> list[tuple[str, GuestRow | None, str]]:
    """For the confirmation: each selected guest's row, or None with why it is left out."""
    found: list[tuple[str, GuestRow | None, str]] = []
    for user_id in ids:
        try:
            row = await changeable(uow, person, user_id, now)
        except GuestgateError as exc:
            found.append((user_id, None, exc.message))
            continue
        found.append((user_id, row, ""))
    return found


async def bulk(
    uow_of: Callable[[], UnitOfWork],
    service: InvitationService,
    *,
    person: Person,
    actor: Actor,
    action: str,
    ids: list[str],
    now: datetime,
) -> list[Outcome]:
    """The action on each selected guest in turn, each in its own transaction through the
    API's use-cases; one guest's failure is its own outcome and the others go on."""
    outcomes = []
    done = {"resend": "A new invitation was sent.", "revoke": "The invitation was revoked."}
    for user_id in check_selection(ids):
        label = user_id
        try:
            row = await changeable(uow_of(), person, user_id, now)
            label = f"{row.display_name} <{row.email}>" if row.display_name else row.email
            await change(
                uow_of(),
                service,
                person=person,
                actor=actor,
                user_id=user_id,
                action=action,
                now=now,
            )
        except GuestgateError as exc:
            outcomes.append(Outcome(user_id, label, False, exc.message))
            continue
        outcomes.append(Outcome(user_id, label, True, done.get(action, "The guest was deleted.")))
    return outcomes
