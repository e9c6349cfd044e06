"""Directory reads and deletes behind the Graph-compatible surface."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from guestgate.domain.odata import UserQuery
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import iso
from guestgate.domain.users import INVITATION, User
from guestgate.errors import NotFound, PermissionDenied
from guestgate.services.invitations import Actor
from guestgate.services.ports import UnitOfWork


async def list_users(
    uow: UnitOfWork, *, tenant_id: str, query: UserQuery, with_count: bool
) -> tuple[Sequence[User], int | None]:
    """One page of users (plus one to tell whether more follow) and the total when asked."""
    async with uow:
        users = await uow.users.query(tenant_id, query)
        total = await uow.users.count(tenant_id, query) if with_count else None
    return users, total


async def count_users(uow: UnitOfWork, *, tenant_id: str, query: UserQuery) -> int:
    async with uow:
        return await uow.users.count(tenant_id, query)


async def _find(uow: UnitOfWork, tenant_id: str, ref: str) -> User:
    user = (
        await uow.users.get(tenant_id, ref.lower())
        if is_guid(ref)
        else await uow.users.get_by_upn(tenant_id, ref)
    )
    if user is None:
        raise NotFound(
            f"Resource '{ref[:100]}' does not exist or one of its queried reference-property"
            " objects are not present.",
            code="Request_ResourceNotFound",
        )
    return user


async def get_user(uow: UnitOfWork, *, tenant_id: str, ref: str) -> User:
    """A user by object id or userPrincipalName."""
    async with uow:
        return await _find(uow, tenant_id, ref)


async def delete_user(uow: UnitOfWork, *, actor: Actor, ref: str, now: datetime) -> None:
    """Delete an invited user; their invitations go with them, so every link stops working."""
    async with uow:
        user = await _find(uow, actor.tenant_id, ref)
        if user.creation_type != INVITATION:
            raise PermissionDenied(
                "Only invited users can be deleted through this API.",
                code="Authorization_RequestDenied",
            )
        await uow.users.delete(user.id)
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id,
            action="user.delete",
            target=user.id,
            request_id=actor.request_id,
            created_at=iso(now),
            details={"email": user.email_key},
        )
        await uow.commit()
