"""App registrations and their client secrets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from guestgate.domain.apps import (
    App,
    ClientSecret,
    check_app_name,
    check_permissions,
    hash_secret,
    new_secret,
    secret_hint,
)
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso
from guestgate.errors import NotFound, ValidationError
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import require_tenant


@dataclass(frozen=True, slots=True)
class NewSecret:
    """A secret as shown once, at creation; only its hash is stored."""

    value: str
    secret: ClientSecret


async def _app(uow: UnitOfWork, tenant: Tenant, app_id: str) -> App:
    app = await uow.apps.get(app_id.strip().lower())
    if app is None or app.tenant_id != tenant.id:
        raise NotFound(f"no app {app_id!r} in tenant {tenant.name}", code="AppNotFound")
    return app


def _make_secret(
    app_id: str,
    lifetime: timedelta,
    display_name: str,
    now: datetime,
    hash_key: bytes,
    rng: Randomness,
) -> tuple[NewSecret, str]:
    value = new_secret(rng)
    secret = ClientSecret(
        id=rng.uuid(),
        app_id=app_id,
        hint=secret_hint(value),
        display_name=display_name,
        created_at=iso(now),
        expires_at=iso(now + lifetime),
    )
    return NewSecret(value=value, secret=secret), hash_secret(hash_key, value)


async def create_app(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    name: str,
    permissions: Sequence[str],
    secret_lifetime: timedelta,
    hash_key: bytes,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> tuple[App, NewSecret]:
    """Register an app with granted permissions and a first client secret."""
    granted = check_permissions(permissions)
    if not granted:
        raise ValidationError("grant at least one permission", code="UnknownPermission")
    app_name = check_app_name(name)
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app = App(
            id=rng.uuid(),
            object_id=rng.uuid(),
            tenant_id=tenant.id,
            name=app_name,
            permissions=granted,
            created_at=iso(now),
        )
        await uow.apps.add(app)
        shown, secret_hash = _make_secret(app.id, secret_lifetime, "secret", now, hash_key, rng)
        await uow.apps.add_secret(shown.secret, secret_hash)
        await uow.audit.record(
            tenant_id=tenant.id,
            action="app.create",
            target=app.id,
            created_at=iso(now),
            details={"name": app.name, "permissions": list(app.permissions)},
        )
        await uow.commit()
    return app, shown


async def list_apps(uow: UnitOfWork, *, tenant_ref: str) -> Sequence[App]:
    """The tenant's app registrations."""
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        return await uow.apps.list(tenant.id)


async def add_secret(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    app_id: str,
    display_name: str,
    lifetime: timedelta,
    hash_key: bytes,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> NewSecret:
    """Add a client secret to an app (rotation: add the new one, then remove the old)."""
    label = check_app_name(display_name)
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app = await _app(uow, tenant, app_id)
        shown, secret_hash = _make_secret(app.id, lifetime, label, now, hash_key, rng)
        await uow.apps.add_secret(shown.secret, secret_hash)
        await uow.audit.record(
            tenant_id=tenant.id,
            action="app.secret.add",
            target=app.id,
            created_at=iso(now),
            details={"secretId": shown.secret.id},
        )
        await uow.commit()
    return shown


async def list_secrets(uow: UnitOfWork, *, tenant_ref: str, app_id: str) -> Sequence[ClientSecret]:
    """An app's secrets: ids, hints and expiry dates, never the values."""
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app = await _app(uow, tenant, app_id)
        return await uow.apps.list_secrets(app.id)


async def remove_secret(
    uow: UnitOfWork, *, tenant_ref: str, app_id: str, secret_id: str, now: datetime
) -> None:
    """Delete a client secret: it stops working for new tokens at once."""
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app = await _app(uow, tenant, app_id)
        if not await uow.apps.remove_secret(app.id, secret_id.strip().lower()):
            raise NotFound(f"no secret {secret_id!r} on app {app.id}", code="SecretNotFound")
        await uow.audit.record(
            tenant_id=tenant.id,
            action="app.secret.remove",
            target=app.id,
            created_at=iso(now),
            details={"secretId": secret_id},
        )
        await uow.commit()
