"""Console role use-cases: assign, remove and list the roles of a tenant's members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from guestgate.domain.emails import parse_email
from guestgate.domain.roles import Access, RoleAssignment, parse_role
from guestgate.domain.timestamps import iso
from guestgate.domain.users import GUEST, User
from guestgate.errors import NotFound, ValidationError
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import require_tenant


@dataclass(frozen=True, slots=True)
class Held:
    """A role assignment with its user's address, for lists."""

    assignment: RoleAssignment
    email: str
    display_name: str


async def _member(uow: UnitOfWork, tenant_id: str, email: str) -> User:
    address = parse_email(email, field="--user", code="InvalidUser")
    user = await uow.users.get_by_email(tenant_id, address.key)
    if user is None:
        raise NotFound(
            f"There is no user {address.address} in this organization; create the member first"
            " (guestgate user create).",
            code="UserNotFound",
        )
    if user.user_type == GUEST:
        raise ValidationError(
            f"{address.address} is a guest; console roles are for the organization's members.",
            code="GuestCannotHoldRole",
        )
    return user


async def assign(
    uow: UnitOfWork, *, tenant_ref: str, email: str, role: str, now: datetime
) -> tuple[Held, bool]:
    """Give a member a console role; True when it is new (assigning it again changes nothing)."""
    name = parse_role(role)
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        user = await _member(uow, tenant.id, email)
        assignment = RoleAssignment(tenant.id, user.id, name, iso(now))
        added = await uow.roles.assign(assignment)
        await uow.audit.record(
            tenant_id=tenant.id,
            action="role.assign",
            target=user.id,
            created_at=iso(now),
            details={"role": name, "changed": added},
        )
        await uow.commit()
    return Held(assignment, user.mail, user.display_name), added


async def remove(uow: UnitOfWork, *, tenant_ref: str, email: str, role: str, now: datetime) -> None:
    """Take a console role from a member; NotFound if they do not hold it."""
    name = parse_role(role)
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        user = await _member(uow, tenant.id, email)
        if not await uow.roles.remove(tenant.id, user.id, name):
            raise NotFound(f"{user.mail} does not hold the role {name}.", code="RoleNotHeld")
        await uow.audit.record(
            tenant_id=tenant.id,
            action="role.remove",
            target=user.id,
            created_at=iso(now),
            details={"role": name},
        )
        await uow.commit()


async def list_roles(uow: UnitOfWork, *, tenant_ref: str) -> list[Held]:
    """Every role assignment of the tenant, oldest first."""
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        held = []
        for assignment in await uow.roles.list(tenant.id):
            user = await uow.users.get(tenant.id, assignment.user_id)
            if user is not None:
                held.append(Held(assignment, user.mail, user.display_name))
    return held


async def access_of(uow: UnitOfWork, *, tenant_id: str, user_id: str) -> Access:
    """What a member's roles let them do in the console (no role: nothing)."""
    async with uow:
        return Access(frozenset(await uow.roles.of_user(tenant_id, user_id)))
