"""What the admin console shows and does with the tenant's app registrations.

Administrators (Global and User administrators) change an app's redirect URIs and its
client secrets; a Reader sees every app, its permissions, redirect URIs and secrets' hints;
the other roles see none (an app's permissions reach every guest of the tenant). Every
change goes through services/apps.py's use-cases, which the CLI and the applications API
use too, with the signed-in person as the audit record's actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from guestgate.domain.apps import App, ClientSecret, parse_lifetime
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.domain.tenants import is_guid
from guestgate.errors import NotFound, PermissionDenied, ValidationError
from guestgate.services import apps
from guestgate.services.apps import NewSecret
from guestgate.services.console import Person
from guestgate.services.ports import UnitOfWork

MAX_APPS = 500  # apps on the list page
# The lifetimes the page offers, as parse_lifetime reads them (at most two years).
LIFETIMES = {"90d": "90 days", "180d": "180 days", "1y": "1 year", "2y": "2 years"}
NOT_YOURS = "Your role does not let you see app registrations; administrators and readers see them."
READ_ONLY = "Your role lets you see app registrations, not change them."


@dataclass(frozen=True, slots=True)
class AppRow:
    app: App
    secrets: Sequence[ClientSecret]


def require_view(person: Person) -> None:
    if not person.access.sees_all:
        raise PermissionDenied(NOT_YOURS, code="NotAnAdministrator")


def may_manage(person: Person) -> bool:
    """Changing apps is for Global and User administrators."""
    return bool(person.access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


def require_manage(person: Person) -> None:
    require_view(person)
    if not may_manage(person):
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")


def app_id_of(value: str) -> str:
    """An app id from the address; anything else is no app."""
    if not is_guid(value):
        raise NotFound("There is no such app registration.", code="AppNotFound")
    return value.lower()


def check_lifetime(value: str) -> str:
    if value not in LIFETIMES:
        raise ValidationError(
            f"Choose how long the secret lasts: {', '.join(LIFETIMES.values())}.",
            code="InvalidLifetime",
        )
    return value


async def list_apps(uow: UnitOfWork, *, person: Person) -> list[AppRow]:
    """The tenant's apps, by creation, each with its secrets (hints and dates only)."""
    require_view(person)
    async with uow:
        found = await uow.apps.list(person.user.tenant_id, limit=MAX_APPS)
        return [AppRow(a, await uow.apps.list_secrets(a.id)) for a in found]


async def get_app(uow: UnitOfWork, *, person: Person, app_id: str) -> AppRow:
    require_view(person)
    async with uow:
        app = await uow.apps.get(app_id_of(app_id))
        if app is None or app.tenant_id != person.user.tenant_id:
            raise NotFound("There is no such app registration.", code="AppNotFound")
        return AppRow(app, await uow.apps.list_secrets(app.id))


async def change_redirect_uri(
    uow: UnitOfWork, *, person: Person, app_id: str, uri: str, add: bool, now: datetime
) -> App:
    """Add or remove one redirect URI, checked as the API checks it."""
    require_manage(person)
    cleaned = uri.strip()
    if not cleaned:
        raise ValidationError("Enter a redirect URI.", code="InvalidRedirectUri")
    return await apps.update_sign_in(
        uow,
        tenant_ref=person.user.tenant_id,
        app_id=app_id_of(app_id),
        add_redirect_uris=(cleaned,) if add else (),
        remove_redirect_uris=() if add else (cleaned,),
        now=now,
        person=person.email,
    )


async def add_secret(
    uow: UnitOfWork,
    *,
    person: Person,
    app_id: str,
    display_name: str,
    lifetime: str,
    hash_key: bytes,
    now: datetime,
) -> NewSecret:
    """A new client secret; its value is in the answer only."""
    require_manage(person)
    row = await get_app(uow, person=person, app_id=app_id)
    if row.app.public_client:
        raise ValidationError(
            "A public client holds no secret; only a confidential app has client secrets.",
            code="PublicClientSecret",
        )
    if not display_name.strip():
        raise ValidationError("Give the secret a description (1-120 characters).")
    return await apps.add_secret(
        uow,
        tenant_ref=person.user.tenant_id,
        app_id=row.app.id,
        display_name=display_name,
        lifetime=parse_lifetime(check_lifetime(lifetime)),
        hash_key=hash_key,
        now=now,
        person=person.email,
    )


async def remove_secret(
    uow: UnitOfWork, *, person: Person, app_id: str, secret_id: str, now: datetime
) -> None:
    require_manage(person)
    if not is_guid(secret_id):
        raise NotFound("The app has no such secret.", code="SecretNotFound")
    await apps.remove_secret(
        uow,
        tenant_ref=person.user.tenant_id,
        app_id=app_id_of(app_id),
        secret_id=secret_id,
        now=now,
        person=person.email,
    )
