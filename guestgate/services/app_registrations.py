"""App registrations through the applications API (Graph's `/v1.0/applications`).

The rules are those of services/apps.py, which the CLI uses too. What the API cannot do is
grant application permissions: an app that may register apps must not be able to mint one
with more rights than it holds, so permissions stay with the operator's `app create`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from guestgate.domain.apps import (
    MAX_SECRET_LIFETIME,
    App,
    ClientSecret,
    check_api_scopes,
    check_app_id_uri,
    check_app_name,
    check_redirect_uris,
    lifetime_until,
)
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.errors import NotFound, ValidationError
from guestgate.services import apps
from guestgate.services.apps import NewSecret, SignIn
from guestgate.services.ports import UnitOfWork
from guestgate.services.tenants import require_tenant

DEFAULT_SECRET_NAME = "secret"  # noqa: S105 (a label, not a secret)


@dataclass(frozen=True, slots=True)
class Registration:
    """An app with its secrets (ids, hints and expiry dates, never the values)."""

    app: App
    secrets: Sequence[ClientSecret]


@dataclass(frozen=True, slots=True)
class Changes:
    """What a create or PATCH gives, in Graph's terms; None leaves a property as it is."""

    name: str | None = None
    web_redirect_uris: Sequence[str] | None = None  # a confidential client's
    public_redirect_uris: Sequence[str] | None = None  # a public client's
    fallback_public: bool | None = None  # Graph's isFallbackPublicClient
    app_id_uris: Sequence[str] | None = None  # [] removes the application ID URI
    api_scopes: Sequence[str] | None = None


def client_kind(
    changes: Changes, *, public: bool, uris: Sequence[str]
) -> tuple[bool, Sequence[str]]:
    """Whether the app is a public client after `changes`, and its redirect URIs.

    guestgate apps are one or the other, with one list: a public client's URIs are Graph's
    publicClient.redirectUris, a confidential client's are web.redirectUris.
    """
    web, native, fallback = (
        changes.web_redirect_uris,
        changes.public_redirect_uris,
        changes.fallback_public,
    )
    if web and native:
        raise ValidationError(
            "Give web.redirectUris (a confidential client) or publicClient.redirectUris (a public"
            " client), not both: an app is one or the other.",
            code="InvalidRedirectUri",
        )
    if (fallback is False and native) or (fallback and web):
        raise ValidationError(
            "A public client (isFallbackPublicClient: true) has publicClient.redirectUris, a"
            " confidential client web.redirectUris.",
            code="InvalidRedirectUri",
        )
    kind = public if fallback is None and not native and not web else bool(fallback or native)
    given = native if kind else web
    return kind, uris if given is None else given


def not_found(object_id: str) -> NotFound:
    return NotFound(
        f"Resource '{object_id[:64]}' does not exist or one of its queried reference-property"
        " objects are not present.",
        code="Request_ResourceNotFound",
    )


async def _find(uow: UnitOfWork, tenant_id: str, object_id: str) -> App:
    app = await uow.apps.get_by_object_id(tenant_id, object_id.strip().lower())
    if app is None:
        raise not_found(object_id)
    return app


def one_app_id_uri(uris: Sequence[str]) -> str | None:
    if len(uris) > 1:
        raise ValidationError(
            "identifierUris takes at most one URI: an app has one application ID URI",
            code="InvalidAppIdUri",
        )
    return uris[0] if uris else None


async def register(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    changes: Changes,
    actor: str | None,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> Registration:
    """Register an app with no permissions and no secret yet (addPassword gives one)."""
    if changes.name is None:
        raise ValidationError("displayName is required.", code="InvalidAppName")
    public, uris = client_kind(changes, public=False, uris=())
    sign_in = SignIn(
        redirect_uris=uris,
        app_id_uri=one_app_id_uri(changes.app_id_uris or ()),
        api_scopes=changes.api_scopes or (),
    )
    with apps.ClaimsAppIdUri() as claim:
        async with uow:
            tenant = await require_tenant(uow.tenants, tenant_id)
            app = apps.build_app(
                tenant,
                changes.name,
                (),
                sign_in,
                public_client=public,
                now=now,
                rng=rng,
                require_use=False,
            )
            claim.uri = app.app_id_uri
            await apps.register_app(uow, app, tenant, now, actor=actor)
            await uow.commit()
    return Registration(app, ())


async def get(uow: UnitOfWork, *, tenant_id: str, object_id: str) -> Registration:
    """One app of the tenant, by its object id."""
    async with uow:
        app = await _find(uow, tenant_id, object_id)
        return Registration(app, await uow.apps.list_secrets(app.id))


async def list_page(
    uow: UnitOfWork, *, tenant_id: str, after: tuple[str, str] | None, limit: int
) -> Sequence[Registration]:
    """Up to `limit` apps of the tenant after the keyset position `after`."""
    async with uow:
        found = await uow.apps.list(tenant_id, after=after, limit=limit)
        return [Registration(a, await uow.apps.list_secrets(a.id)) for a in found]


async def change(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    object_id: str,
    changes: Changes,
    actor: str | None,
    now: datetime,
) -> App:
    """Replace the given properties of an app, checked by the same rules as at creation."""
    with apps.ClaimsAppIdUri() as claim:
        async with uow:
            tenant = await require_tenant(uow.tenants, tenant_id)
            app = await _find(uow, tenant.id, object_id)
            public, uris = client_kind(changes, public=app.public_client, uris=app.redirect_uris)
            apps.check_client_kind(public_client=public, permissions=app.permissions)
            if public and not app.public_client and await uow.apps.list_secrets(app.id):
                raise ValidationError(
                    "A public client holds no secret: remove the app's secrets (removePassword)"
                    " before making it one.",
                    code="PublicClientSecret",
                )
            uri = app.app_id_uri
            if changes.app_id_uris is not None:
                given = one_app_id_uri(changes.app_id_uris)
                uri = None if given is None else check_app_id_uri(given)
            if uri is not None and uri != app.app_id_uri:
                await apps.check_app_id_uri_free(uow, tenant, uri)
                claim.uri = uri
            updated = replace(
                app,
                name=app.name if changes.name is None else check_app_name(changes.name),
                redirect_uris=check_redirect_uris(uris),
                public_client=public,
                app_id_uri=uri,
                api_scopes=app.api_scopes
                if changes.api_scopes is None
                else check_api_scopes(changes.api_scopes),
            )
            await uow.apps.update(updated)
            await uow.audit.record(
                tenant_id=tenant.id,
                app_id=actor,
                action="app.update",
                target=app.id,
                created_at=iso(now),
                details={
                    "name": updated.name,
                    "redirectUris": list(updated.redirect_uris),
                    "publicClient": updated.public_client,
                    "appIdUri": updated.app_id_uri,
                    "apiScopes": list(updated.api_scopes),
                },
            )
            await uow.commit()
    return updated


async def delete(
    uow: UnitOfWork, *, tenant_id: str, object_id: str, actor: str | None, now: datetime
) -> App:
    """Delete an app: its secrets, codes, refresh tokens and subscriptions go with it."""
    async with uow:
        app = await _find(uow, tenant_id, object_id)
        if app.id == actor:
            raise ValidationError(
                "An app cannot delete its own registration; another app or the operator's CLI can.",
                code="CannotDeleteSelf",
            )
        for subscription in await uow.subscriptions.list(tenant_id, app.id):
            await uow.subscriptions.remove(tenant_id, subscription.id)
        await uow.apps.delete(app.id)
        await uow.audit.record(
            tenant_id=tenant_id,
            app_id=actor,
            action="app.delete",
            target=app.id,
            created_at=iso(now),
            details={"name": app.name},
        )
        await uow.commit()
    return app


async def add_password(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    object_id: str,
    display_name: str | None,
    end: str | None,
    actor: str | None,
    hash_key: bytes,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> NewSecret:
    """A new client secret (default lifetime: two years); its value is shown only now."""
    lifetime = MAX_SECRET_LIFETIME if end is None else lifetime_until(end, now)
    found = await get(uow, tenant_id=tenant_id, object_id=object_id)
    if found.app.public_client:
        raise ValidationError(
            "A public client holds no secret; register a confidential app (web.redirectUris)"
            " for client credentials.",
            code="PublicClientSecret",
        )
    return await apps.add_secret(
        uow,
        tenant_ref=tenant_id,
        app_id=found.app.id,
        display_name=display_name or DEFAULT_SECRET_NAME,
        lifetime=lifetime,
        hash_key=hash_key,
        now=now,
        rng=rng,
        actor=actor,
    )


async def remove_password(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    object_id: str,
    key_id: str,
    actor: str | None,
    now: datetime,
) -> None:
    """Delete a client secret: no new token is issued with it."""
    found = await get(uow, tenant_id=tenant_id, object_id=object_id)
    await apps.remove_secret(
        uow,
        tenant_ref=tenant_id,
        app_id=found.app.id,
        secret_id=key_id,
        now=now,
        actor=actor,
    )
