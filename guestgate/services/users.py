"""Directory users of local mode: members, guests, and the Graph-compatible reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from guestgate.domain.apps import READWRITE_USERS, grants
from guestgate.domain.emails import parse_email
from guestgate.domain.invitations import MAX_DISPLAY_NAME
from guestgate.domain.odata import UserQuery
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.tenants import is_guid
from guestgate.domain.text import check_text
from guestgate.domain.timestamps import iso
from guestgate.domain.users import MEMBER, User, unstorable
from guestgate.errors import Conflict, NotFound, PermissionDenied, ValidationError
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import token_tenant


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


def check_may_change(permissions: frozenset[str] | None, user: User) -> None:
    """A member is changed (reset, re-invited, resent, revoked, deleted) only by an app that
    may change any user: the stored user decides, never the type a request claims.

    `permissions` None: the caller was not checked here (the CLI; graph mode, where Microsoft
    Graph decides).
    """
    if (
        user.user_type == MEMBER
        and permissions is not None
        and not grants(permissions, READWRITE_USERS)
    ):
        raise PermissionDenied(
            f"{user.id} is a member of the organization; changing a member needs the"
            f" {READWRITE_USERS} permission.",
            code="Authorization_RequestDenied",
        )


async def find_user(uow: UnitOfWork, tenant_id: str, ref: str) -> User:
    """A user by object id or userPrincipalName (compared folded, as it is unique)."""
    if unstorable(ref):
        raise ValidationError(
            "The user id or userPrincipalName holds a NUL or an unpaired surrogate.",
            code="Request_BadRequest",
        )
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
        return await find_user(uow, tenant_id, ref)


async def create_member(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    email: str,
    display_name: str,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> User:
    """Add a member of the organization (so invitations of that address are refused)."""
    address = parse_email(email, field="email")
    # The same rule as an invited guest's name: it is shown in pages and emails.
    display_name = check_text(
        display_name, field="name", code="InvalidDisplayName", max_length=MAX_DISPLAY_NAME
    ).strip()
    stamp = iso(now)
    user = User(
        id=rng.uuid(),
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
        await token_tenant(uow.tenants, tenant_id)
        if not await uow.users.add_if_absent(user):
            if await uow.users.get_by_email(tenant_id, address.key) is not None:
                raise Conflict(f"{address.address} is already in the directory.", code="UserExists")
            raise Conflict(
                f"The userPrincipalName {address.address} belongs to another user (a guest's"
                " name is derived from their address); choose another address.",
                code="UserPrincipalNameInUse",
            )
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
