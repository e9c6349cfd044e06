"""App registrations and their client secrets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from guestgate.domain.apps import (
    App,
    ClientSecret,
    check_api_scopes,
    check_app_id_uri,
    check_app_name,
    check_permissions,
    check_redirect_uri,
    check_redirect_uris,
    hash_secret,
    new_secret,
    secret_hint,
)
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso
from guestgate.errors import IntegrityError, NotFound, ValidationError
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


def check_client_kind(*, public_client: bool, permissions: Sequence[str]) -> None:
    if public_client and permissions:
        raise ValidationError(
            "a public client holds no secret, so it cannot have application permissions",
            code="PublicClientPermissions",
        )


def app_id_uri_taken(uri: str) -> ValidationError:
    return ValidationError(f"another app of the tenant already uses {uri}", code="AppIdUriTaken")


class ClaimsAppIdUri:
    """Around a write that gives an app `uri`: the check that it is free and the write race
    on PostgreSQL (READ COMMITTED lets two requests both see it free), and the loser meets
    the unique index; it gets the check's own answer, not an IntegrityError."""

    def __init__(self) -> None:
        self.uri: str | None = None

    def __enter__(self) -> ClaimsAppIdUri:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and issubclass(kind, IntegrityError) and self.uri is not None:
            raise app_id_uri_taken(self.uri) from None


async def check_app_id_uri_free(uow: UnitOfWork, tenant: Tenant, uri: str) -> None:
    if await uow.apps.get_by_app_id_uri(tenant.id, uri) is not None:
        raise app_id_uri_taken(uri)


@dataclass(frozen=True, slots=True)
class SignIn:
    """How an app signs users in: its redirect URIs, and the API it exposes (if any)."""

    redirect_uris: Sequence[str] = ()
    app_id_uri: str | None = None
    api_scopes: Sequence[str] = ()


def build_app(
    tenant: Tenant,
    name: str,
    permissions: Sequence[str],
    sign_in: SignIn,
    *,
    public_client: bool,
    now: datetime,
    rng: Randomness,
    require_use: bool = True,
) -> App:
    """A new app, every field checked; `require_use=False` allows one with nothing yet (API)."""
    granted = check_permissions(permissions)
    redirect_uris = check_redirect_uris(sign_in.redirect_uris)
    if require_use and not granted and not redirect_uris:
        raise ValidationError(
            "grant at least one permission, or give a redirect URI for sign-in",
            code="UnknownPermission",
        )
    check_client_kind(public_client=public_client, permissions=granted)
    app_id = rng.uuid()
    return App(
        id=app_id,
        object_id=rng.uuid(),
        tenant_id=tenant.id,
        name=check_app_name(name),
        permissions=granted,
        created_at=iso(now),
        redirect_uris=redirect_uris,
        public_client=public_client,
        app_id_uri=None if sign_in.app_id_uri is None else check_app_id_uri(sign_in.app_id_uri),
        api_scopes=check_api_scopes(sign_in.api_scopes),
    )


async def register_app(
    uow: UnitOfWork, app: App, tenant: Tenant, now: datetime, *, actor: str | None = None
) -> None:
    """Store a new app and its audit record (`actor`: the app that registered it, if any)."""
    if app.app_id_uri is not None:
        await check_app_id_uri_free(uow, tenant, app.app_id_uri)
    await uow.apps.add(app)
    await uow.audit.record(
        tenant_id=tenant.id,
        app_id=actor,
        action="app.create",
        target=app.id,
        created_at=iso(now),
        details={
            "name": app.name,
            "permissions": list(app.permissions),
            "redirectUris": list(app.redirect_uris),
            "publicClient": app.public_client,
        },
    )


async def create_app(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    name: str,
    permissions: Sequence[str],
    secret_lifetime: timedelta,
    hash_key: bytes,
    now: datetime,
    sign_in: SignIn | None = None,
    rng: Randomness = SYSTEM,
) -> tuple[App, NewSecret]:
    """Register a confidential app with granted permissions and a first client secret."""
    with ClaimsAppIdUri() as claim:
        async with uow:
            tenant = await require_tenant(uow.tenants, tenant_ref)
            app = build_app(
                tenant,
                name,
                permissions,
                sign_in or SignIn(),
                public_client=False,
                now=now,
                rng=rng,
            )
            claim.uri = app.app_id_uri
            await register_app(uow, app, tenant, now)
            shown, secret_hash = _make_secret(app.id, secret_lifetime, "secret", now, hash_key, rng)
            await uow.apps.add_secret(shown.secret, secret_hash)
            await uow.commit()
    return app, shown


async def create_public_app(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    name: str,
    sign_in: SignIn,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> App:
    """Register a public client (a native or single-page app): sign-in only, no secret."""
    with ClaimsAppIdUri() as claim:
        async with uow:
            tenant = await require_tenant(uow.tenants, tenant_ref)
            app = build_app(tenant, name, (), sign_in, public_client=True, now=now, rng=rng)
            claim.uri = app.app_id_uri
            await register_app(uow, app, tenant, now)
            await uow.commit()
    return app


async def update_sign_in(
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    app_id: str,
    add_redirect_uris: Sequence[str] = (),
    remove_redirect_uris: Sequence[str] = (),
    app_id_uri: str | None = None,
    api_scopes: Sequence[str] | None = None,
    now: datetime,
    person: str | None = None,
) -> App:
    """Add or remove an app's redirect URIs; set its application ID URI and scopes
    (`person`: the console user who did it, the audit record's actor)."""
    with ClaimsAppIdUri() as claim:
        async with uow:
            tenant = await require_tenant(uow.tenants, tenant_ref)
            app = await _app(uow, tenant, app_id)
            uris = list(app.redirect_uris)
            for uri in remove_redirect_uris:
                if uri not in uris:
                    raise NotFound(
                        f"the app has no redirect URI {uri!r}", code="RedirectUriNotFound"
                    )
                uris.remove(uri)
            uris.extend(check_redirect_uri(u) for u in add_redirect_uris if u not in uris)
            new_uri = app.app_id_uri if app_id_uri is None else check_app_id_uri(app_id_uri)
            if new_uri is not None and new_uri != app.app_id_uri:
                await check_app_id_uri_free(uow, tenant, new_uri)
                claim.uri = new_uri
            updated = replace(
                app,
                redirect_uris=check_redirect_uris(uris),
                app_id_uri=new_uri,
                api_scopes=app.api_scopes if api_scopes is None else check_api_scopes(api_scopes),
            )
            await uow.apps.set_sign_in(
                app.id,
                redirect_uris=updated.redirect_uris,
                app_id_uri=updated.app_id_uri,
                api_scopes=updated.api_scopes,
            )
            await uow.audit.record(
                tenant_id=tenant.id,
                actor=person,
                action="app.update",
                target=app.id,
                created_at=iso(now),
                details={
                    "redirectUris": list(updated.redirect_uris),
                    "appIdUri": updated.app_id_uri,
                    "apiScopes": list(updated.api_scopes),
                },
            )
            await uow.commit()
    return updated


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
    actor: str | None = None,
    person: str | None = None,
) -> NewSecret:
    """Add a client secret to an app (rotation: add the new one, then remove the old).
    `actor`: the app that asked, `person`: the console user (the audit record's actor)."""
    label = check_app_name(display_name)
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app = await _app(uow, tenant, app_id)
        shown, secret_hash = _make_secret(app.id, lifetime, label, now, hash_key, rng)
        await uow.apps.add_secret(shown.secret, secret_hash)
        await uow.audit.record(
            tenant_id=tenant.id,
            app_id=actor,
            actor=person,
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
    uow: UnitOfWork,
    *,
    tenant_ref: str,
    app_id: str,
    secret_id: str,
    now: datetime,
    actor: str | None = None,
    person: str | None = None,
) -> None:
    """Delete a client secret: it stops working for new tokens at once."""
    async with uow:
        tenant = await require_tenant(uow.tenants, tenant_ref)
        app = await _app(uow, tenant, app_id)
        if not await uow.apps.remove_secret(app.id, secret_id.strip().lower()):
            raise NotFound(f"no secret {secret_id!r} on app {app.id}", code="SecretNotFound")
        await uow.audit.record(
            tenant_id=tenant.id,
            app_id=actor,
            actor=person,
            action="app.secret.remove",
            target=app.id,
            created_at=iso(now),
            details={"secretId": secret_id},
        )
        await uow.commit()
