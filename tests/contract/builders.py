"""Small builders of domain objects with unique values, and helpers that store them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from guestgate.domain.apps import App, ClientSecret
from guestgate.domain.invitations import Invitation
from guestgate.domain.keys import SigningKey
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso
from guestgate.domain.users import User
from guestgate.services.ports import UnitOfWork

UowFactory = Callable[..., UnitOfWork]  # make_uow() or make_uow(write=False)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> str:
    """A stored timestamp `seconds` after T0."""
    return iso(T0 + timedelta(seconds=seconds))


def unique() -> str:
    return uuid.uuid4().hex[:12]


def make_tenant(**overrides: Any) -> Tenant:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "Contoso",
        "domains": (f"t{unique()}.example",),
        "created_at": at(0),
        "invitation_lifetime_days": 30,
    }
    return Tenant(**(fields | overrides))


def make_user(tenant_id: str, **overrides: Any) -> User:
    local = f"u{unique()}"
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "user_type": "Guest",
        "display_name": local,
        "mail": f"{local}@example.com",
        "email_key": f"{local}@example.com",
        "user_principal_name": f"{local}_example.com#EXT#@contoso.example",
        "external_user_state": "PendingAcceptance",
        "external_user_state_changed_at": at(0),
        "creation_type": "Invitation",
        "created_at": at(0),
    }
    if "mail" in overrides and "email_key" not in overrides:
        fields["email_key"] = overrides["mail"].lower()  # as parse_email keys an ASCII address
    return User(**(fields | overrides))


def make_invitation(user: User, **overrides: Any) -> Invitation:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tenant_id": user.tenant_id,
        "user_id": user.id,
        "email": user.mail,
        "status": "PendingAcceptance",
        "redirect_url": "https://example.com/welcome",
        "send_message": True,
        "requested_by": None,
        "more": {"costCenter": "7", "tags": ["a", "b"]},
        "message_info": None,
        "created_by_app": None,
        "created_at": at(0),
        "expires_at": at(30 * 86400),
        "completed_at": None,
        "revoked_at": None,
    }
    return Invitation(**(fields | overrides))


def make_app(tenant_id: str, **overrides: Any) -> App:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "object_id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "name": "Invite robot",
        "permissions": ("User.Invite.All", "User.Read.All"),
        "created_at": at(0),
        "enabled": True,
    }
    return App(**(fields | overrides))


def make_secret(app_id: str, **overrides: Any) -> ClientSecret:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "app_id": app_id,
        "hint": "gg_abc",
        "display_name": "default",
        "created_at": at(0),
        "expires_at": at(365 * 86400),
    }
    return ClientSecret(**(fields | overrides))


def make_key(**overrides: Any) -> SigningKey:
    fields: dict[str, Any] = {
        "kid": unique(),
        "public_jwk": {"kty": "RSA", "n": "AQAB" * 4, "e": "AQAB"},
        "created_at": at(0),
        "retire_at": None,
    }
    return SigningKey(**(fields | overrides))


async def committed(make_uow: UowFactory, *objects: Tenant | User | tuple[Invitation, str]) -> None:
    """Store tenants, users and (invitation, ticket hash) pairs in one committed transaction."""
    uow: UnitOfWork
    async with make_uow() as uow:
        for thing in objects:
            if isinstance(thing, Tenant):
                await uow.tenants.add(thing)
            elif isinstance(thing, User):
                assert await uow.users.add_if_absent(thing)
            else:
                await uow.invitations.add(*thing)
        await uow.commit()


async def tenant_with_guest(make_uow: UowFactory, **user: Any) -> tuple[Tenant, User]:
    tenant = make_tenant()
    guest = make_user(tenant.id, **user)
    await committed(make_uow, tenant, guest)
    return tenant, guest
