"""The console's sponsors, Disable/Enable and Deleted guests, in both modes: done through the
same use-cases as Graph's surface (services/user_admin.py) with the person as the audit
trail's actor. Who may change a guest is each mode's own check, made before these are called
(services/console_guests.py `changeable` in local mode, services/console_m365.py's in
Microsoft 365 mode); who may see and restore deleted guests is decided here, from the roles.
"""

from __future__ import annotations

from collections.abc import Sequence

from guestgate.domain.emails import parse_email
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, Access
from guestgate.domain.tenants import is_guid
from guestgate.domain.users import MEMBER, DeletedUser, User
from guestgate.errors import PermissionDenied, ValidationError
from guestgate.services.directory import Actor
from guestgate.services.user_admin import UserAdmin

DELETED_PAGE = 50


async def sponsors(admin: UserAdmin, actor: Actor, user_id: str) -> Sequence[User]:
    """The guest's sponsors (the profile page has already checked the person may see it)."""
    return await admin.sponsors(actor, user_id)


async def set_enabled(admin: UserAdmin, *, actor: Actor, user_id: str, enabled: bool) -> None:
    """Disable or enable a guest the person may change (checked by the caller)."""
    await admin.set_account_enabled(actor, user_id, enabled)


async def add_sponsor(admin: UserAdmin, *, actor: Actor, user_id: str, sponsor: str) -> None:
    """Add a member of the organization, named by address or object id, as the sponsor of a
    guest the person may change (checked by the caller)."""
    ref = sponsor.strip()
    if not is_guid(ref):
        ref = parse_email(ref, field="sponsor").address
    found = await admin.find(actor, ref)
    if found is None or found.user_type != MEMBER:
        raise ValidationError(
            f"{ref} is not a member of the organization; a sponsor must be one.",
            code="InvalidSponsor",
        )
    await admin.add_sponsor(actor, user_id, found.id)


async def remove_sponsor(admin: UserAdmin, *, actor: Actor, user_id: str, sponsor_id: str) -> None:
    await admin.remove_sponsor(actor, user_id, sponsor_id)


def _administrator(access: Access) -> None:
    if not access.sees_all:
        raise PermissionDenied(
            "Deleted guests are shown to administrators and readers only.", code="NotAllowed"
        )


async def deleted(
    admin: UserAdmin, *, access: Access, actor: Actor, after: tuple[str, str] | None
) -> Sequence[DeletedUser]:
    """A page of deleted guests, newest first (one more than shown tells there are more)."""
    _administrator(access)
    return await admin.deleted(actor, after=after, top=DELETED_PAGE)


def may_restore(access: Access) -> bool:
    return bool(access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


def check_may_restore(access: Access) -> None:
    """Restoring a deleted guest: Global and User administrators; 403 for anyone else."""
    _administrator(access)
    if not may_restore(access):
        raise PermissionDenied(
            "Restoring a deleted guest needs the Global or User administrator role.",
            code="ReadOnlyRole",
        )


async def restore(admin: UserAdmin, *, access: Access, actor: Actor, user_id: str) -> User:
    """Restore a deleted guest: Global and User administrators."""
    check_may_restore(access)
    return await admin.restore(actor, user_id)
