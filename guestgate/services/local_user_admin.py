"""Local mode's sponsors, accountEnabled, display names and deleted items, in guestgate's
database.

Each write is one transaction with its audit row (services/user_admin.py `user_record`).
Errors are Graph's: 400 Request_BadRequest, 404 Request_ResourceNotFound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from guestgate.domain.emails import parse_email
from guestgate.domain.invitations import MAX_SPONSORS
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.domain.users import DeletedUser, User, unstorable
from guestgate.errors import NotFound, ValidationError
from guestgate.services.directory import Actor
from guestgate.services.ports import UnitOfWork
from guestgate.services.user_admin import (
    AccountEnabledSet,
    DisplayNameSet,
    SponsorAdded,
    SponsorRemoved,
    UserPurged,
    UserRecord,
    UserRestored,
)
from guestgate.services.users import check_may_change, find_user


def _missing(ref: str) -> NotFound:
    return NotFound(
        f"Resource '{ref[:100]}' does not exist or one of its queried reference-property"
        " objects are not present.",
        code="Request_ResourceNotFound",
    )


class LocalUserAdmin:
    def __init__(self, uow: Callable[..., UnitOfWork], *, now: Callable[[], datetime]) -> None:
        self.uow = uow
        self.now = now

    async def sponsors(self, actor: Actor, ref: str) -> Sequence[User]:
        async with self.uow(write=False) as uow:
            user = await find_user(uow, actor.tenant_id, ref)
            found = []
            for sponsor_id in await uow.users.sponsors(user.id):
                sponsor = await uow.users.get(actor.tenant_id, sponsor_id)
                if sponsor is not None:
                    found.append(sponsor)
        return found

    async def find(self, actor: Actor, ref: str) -> User | None:
        if not ref or len(ref) > 320 or unstorable(ref):
            return None
        async with self.uow(write=False) as uow:
            if is_guid(ref):
                return await uow.users.get(actor.tenant_id, ref.lower())
            try:
                key = parse_email(ref, field="user").key
            except ValidationError:
                return await uow.users.get_by_upn(actor.tenant_id, ref)
            found = await uow.users.get_by_email(actor.tenant_id, key)
            return found or await uow.users.get_by_upn(actor.tenant_id, ref)

    async def add_sponsor(
        self, actor: Actor, ref: str, sponsor_id: str, *, record: UserRecord
    ) -> None:
        now = self.now()
        async with self.uow() as uow:
            user = await find_user(uow, actor.tenant_id, ref)
            check_may_change(actor.permissions, user)
            if await uow.users.get(actor.tenant_id, sponsor_id) is None:
                raise _missing(sponsor_id)
            if sponsor_id == user.id:
                raise ValidationError("A user cannot sponsor itself.", code="Request_BadRequest")
            # Under the guest's row lock, so two adds racing cannot both be the fifth.
            await uow.users.lock(user.id)
            current = await uow.users.sponsors(user.id)
            if sponsor_id in current:
                raise ValidationError(
                    "One or more added object references already exist for the following"
                    " modified properties: 'sponsors'.",
                    code="Request_BadRequest",
                )
            if len(current) >= MAX_SPONSORS:
                raise ValidationError(
                    f"A user has at most {MAX_SPONSORS} sponsors; remove one first.",
                    code="Request_BadRequest",
                )
            await uow.users.add_sponsor(user.id, sponsor_id)
            await record(uow, actor, SponsorAdded(user_id=user.id, sponsor_id=sponsor_id), now)
            await uow.commit()

    async def remove_sponsor(
        self, actor: Actor, ref: str, sponsor_id: str, *, record: UserRecord
    ) -> None:
        now = self.now()
        async with self.uow() as uow:
            user = await find_user(uow, actor.tenant_id, ref)
            check_may_change(actor.permissions, user)
            if not await uow.users.remove_sponsor(user.id, sponsor_id):
                raise _missing(sponsor_id)
            await record(uow, actor, SponsorRemoved(user_id=user.id, sponsor_id=sponsor_id), now)
            await uow.commit()

    async def set_account_enabled(
        self, actor: Actor, ref: str, enabled: bool, *, record: UserRecord
    ) -> None:
        now = self.now()
        async with self.uow() as uow:
            user = await find_user(uow, actor.tenant_id, ref)
            check_may_change(actor.permissions, user)
            if user.account_enabled == enabled:
                return  # nothing changes, nothing is audited
            # Sign-in sessions and refresh tokens are checked against accountEnabled on every
            # use (domain/oidc.py may_sign_in), so disabling ends them at their next use.
            await uow.users.set_account_enabled(user.id, enabled)
            await record(uow, actor, AccountEnabledSet(user_id=user.id, enabled=enabled), now)
            await uow.commit()

    async def set_display_name(
        self, actor: Actor, ref: str, name: str, *, record: UserRecord
    ) -> None:
        now = self.now()
        async with self.uow() as uow:
            user = await find_user(uow, actor.tenant_id, ref)
            check_may_change(actor.permissions, user)
            await uow.users.lock(user.id)
            current = await uow.users.get(actor.tenant_id, user.id)
            if current is None:
                raise _missing(ref)
            if current.display_name == name:
                return  # nothing changes, nothing is audited
            await uow.users.set_display_name(user.id, name)
            await record(uow, actor, DisplayNameSet(user.id, current.display_name, name), now)
            await uow.commit()

    async def deleted(
        self, actor: Actor, *, after: tuple[str, str] | None, top: int
    ) -> Sequence[DeletedUser]:
        async with self.uow(write=False) as uow:
            return await uow.deleted_users.list(actor.tenant_id, after=after, limit=top + 1)

    async def get_deleted(self, actor: Actor, user_id: str) -> DeletedUser:
        async with self.uow(write=False) as uow:
            found = await uow.deleted_users.get(actor.tenant_id, user_id)
        if found is None:
            raise _missing(user_id)
        return found

    async def restore(self, actor: Actor, user_id: str, *, record: UserRecord) -> User:
        now = self.now()
        async with self.uow() as uow:
            deleted = await uow.deleted_users.get(actor.tenant_id, user_id)
            if deleted is None:
                raise _missing(user_id)
            if not await uow.users.restore(deleted):
                # As Entra: the address or name was taken by a user created since the delete.
                raise ValidationError(
                    "Another object with the same value for property userPrincipalName or"
                    " mail already exists; delete or rename it before restoring this user.",
                    code="Request_BadRequest",
                )
            await uow.deleted_users.remove(actor.tenant_id, user_id)
            await record(
                uow, actor, UserRestored(user_id=user_id, email=deleted.user.email_key), now
            )
            restored = await uow.users.get(actor.tenant_id, user_id)
            assert restored is not None
            await uow.commit()
        return restored

    async def purge(self, actor: Actor, user_id: str, *, record: UserRecord) -> None:
        now = self.now()
        async with self.uow() as uow:
            deleted = await uow.deleted_users.get(actor.tenant_id, user_id)
            if deleted is None or not await uow.deleted_users.remove(actor.tenant_id, user_id):
                raise _missing(user_id)
            change = UserPurged(user_id=user_id, email=deleted.user.email_key, expired=False)
            await record(uow, actor, change, now)
            await uow.commit()


async def purge_expired(
    uow: UnitOfWork, *, record: UserRecord, now: datetime, days: int, limit: int = 500
) -> int:
    """The worker's sweep: deleted users older than `days` go for good; how many went."""
    async with uow:
        gone = await uow.deleted_users.purge(
            deleted_before=iso(now - timedelta(days=days)), limit=limit
        )
        for tenant_id, user_id in gone:
            change = UserPurged(user_id=user_id, email="", expired=True)
            await record(uow, Actor(tenant_id=tenant_id, app_id=None), change, now)
        await uow.commit()
    return len(gone)
