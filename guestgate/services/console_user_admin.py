"""The console's sponsors, Disable/Enable and Deleted guests: checked against the person's
roles here (services/console_guests.py decides who may see and change a guest), done through
the same use-cases as Graph's surface (services/user_admin.py) with the person as the audit
trail's actor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from guestgate.domain.emails import parse_email
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.domain.users import MEMBER, DeletedUser, User
from guestgate.errors import PermissionDenied, ValidationError
from guestgate.services.console import Person
from guestgate.services.console_guests import changeable
from guestgate.services.directory import Actor
from guestgate.services.ports import UnitOfWork
from guestgate.services.user_admin import UserAdmin

DELETED_PAGE = 50


async def sponsors(admin: UserAdmin, actor: Actor, user_id: str) -> Sequence[User]:
    """The guest's sponsors (the profile page has already checked the person may see it)."""
    return await admin.sponsors(actor, user_id)


async def set_enabled(
    uow: UnitOfWork,
    admin: UserAdmin,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    enabled: bool,
    now: datetime,
) -> None:
    """Disable or enable a guest the person may change."""
    row = await changeable(uow, person, user_id, now)
    await admin.set_account_enabled(actor, row.user_id, enabled)


async def add_sponsor(
    read: UnitOfWork,
    lookup: UnitOfWork,
    admin: UserAdmin,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    address: str,
    now: datetime,
) -> None:
    """Add a member of the organization, named by address, as the guest's sponsor."""
    row = await changeable(read, person, user_id, now)
    email = parse_email(address.strip(), field="sponsor")
    async with lookup:
        sponsor = await lookup.users.get_by_email(person.user.tenant_id, email.key)
    if sponsor is None or sponsor.user_type != MEMBER:
        raise ValidationError(
            f"{email.address} is not a member of the organization; a sponsor must be one.",
            code="InvalidSponsor",
        )
    await admin.add_sponsor(actor, row.user_id, sponsor.id)


async def remove_sponsor(
    uow: UnitOfWork,
    admin: UserAdmin,
    *,
    person: Person,
    actor: Actor,
    user_id: str,
    sponsor_id: str,
    now: datetime,
) -> None:
    row = await changeable(uow, person, user_id, now)
    await admin.remove_sponsor(actor, row.user_id, sponsor_id)


def _administrator(person: Person) -> None:
    if not person.access.sees_all:
        raise PermissionDenied(
            "Deleted guests are shown to administrators and readers only.", code="NotAllowed"
        )


async def deleted(
    admin: UserAdmin, *, person: Person, actor: Actor, after: tuple[str, str] | None
) -> Sequence[DeletedUser]:
    """A page of deleted guests, newest first (one more than shown tells there are more)."""
    _administrator(person)
    found = await admin.deleted(actor, after=after, top=DELETED_PAGE)
    return found


def may_restore(person: Person) -> bool:
    return bool(person.access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


async def restore(admin: UserAdmin, *, person: Person, actor: Actor, user_id: str) -> User:
    """Restore a deleted guest: Global and User administrators."""
    _administrator(person)
    if not may_restore(person):
        raise PermissionDenied(
            "Restoring a deleted guest needs the Global or User administrator role.",
            code="ReadOnlyRole",
        )
    return await admin.restore(actor, user_id)
