"""Admin commands: tenants, apps and their secrets, signing keys, migrations."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from guestgate.adapters.sql import migrate
from guestgate.bootstrap import running
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain.apps import PERMISSIONS, App, parse_lifetime
from guestgate.domain.branding import MAX_LOGO_BYTES, check_logo
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import utcnow
from guestgate.errors import ValidationError
from guestgate.runtime import Runtime
from guestgate.services import apps, keys, tenants

T = TypeVar("T")


def run(
    settings: Settings, work: Callable[[Runtime], Awaitable[T]], *, connect_graph: bool = False
) -> T:
    """Run one use-case with a runtime of its own (one connection), then close it;
    `connect_graph`: in Microsoft 365 mode, with the Graph client (bootstrap.build_runtime)."""

    async def main() -> T:
        async with running(settings, connect_graph=connect_graph) as runtime:
            return await work(runtime)

    return asyncio.run(main())


def app_view(app: App) -> dict[str, Any]:
    return {
        "AppID": app.id,
        "TenantID": app.tenant_id,
        "name": app.name,
        "permissions": list(app.permissions),
        "enabled": app.enabled,
        "created": app.created_at,
        "redirectUris": list(app.redirect_uris),
        "publicClient": app.public_client,
        "appIdUri": app.app_id_uri,
        "apiScopes": list(app.api_scopes),
    }


def cmd_tenant_create(settings: Settings, args: argparse.Namespace) -> None:
    tenant = run(
        settings,
        lambda rt: tenants.create_tenant(
            rt.uow(), name=args.name, domains=args.domain, now=rt.now()
        ),
    )
    emit(
        {"TenantID": tenant.id, "name": tenant.name, "domains": list(tenant.domains)},
        as_json=args.json,
    )


def cmd_tenant_list(settings: Settings, args: argparse.Namespace) -> None:
    found = run(settings, lambda rt: tenants.list_tenants(rt.uow(write=False)))
    rows = [
        {"TenantID": t.id, "name": t.name, "domains": list(t.domains), "created": t.created_at}
        for t in found
    ]
    emit(rows, as_json=args.json)


def _logo_file(path: str) -> bytes:
    """The logo file, read no further than one byte past the limit the service checks."""
    try:
        with Path(path).open("rb") as file:
            return file.read(MAX_LOGO_BYTES + 1)
    except OSError as exc:
        raise ValidationError(
            f"logo: {path} cannot be read: {exc.strerror}.", code="LogoUnreadable"
        ) from None


async def _tenant_set(rt: Runtime, args: argparse.Namespace) -> Tenant:
    links = (args.privacy_url, args.logo_url, args.landing_url, args.invitation_lifetime_days)
    # The file is read and checked before anything is written.
    logo = None if args.logo is None else check_logo(_logo_file(args.logo)).data
    tenant = None
    if (logo is None and not args.no_logo) or any(v is not None for v in links):
        tenant = await tenants.update_tenant(
            rt.uow(),
            tenant_ref=args.tenant,
            privacy_url=args.privacy_url,
            logo_url=args.logo_url,
            landing_url=args.landing_url,
            invitation_lifetime_days=args.invitation_lifetime_days,
            now=rt.now(),
        )
    if logo is not None or args.no_logo:
        tenant = await tenants.set_logo(rt.uow(), tenant_ref=args.tenant, data=logo, now=rt.now())
    assert tenant is not None
    return tenant


def cmd_tenant_set(settings: Settings, args: argparse.Namespace) -> None:
    tenant = run(settings, lambda rt: _tenant_set(rt, args))
    emit(
        {
            "TenantID": tenant.id,
            "privacyUrl": tenant.privacy_url,
            "logoUrl": tenant.logo_url,
            "logo": None
            if tenant.logo_etag is None
            else f"{settings.http.public_url}/branding/{tenant.id}/logo",
            "landingUrl": tenant.landing_url,
            "invitationLifetimeDays": tenant.invitation_lifetime_days,
        },
        as_json=args.json,
    )


def cmd_app_create(settings: Settings, args: argparse.Namespace) -> None:
    sign_in = apps.SignIn(
        redirect_uris=args.redirect_uri or (),
        app_id_uri=args.app_id_uri,
        api_scopes=args.scope or (),
    )
    if args.public_client:
        public = run(
            settings,
            lambda rt: apps.create_public_app(
                rt.uow(), tenant_ref=args.tenant, name=args.name, sign_in=sign_in, now=rt.now()
            ),
        )
        emit(app_view(public), as_json=args.json)
        return
    lifetime = parse_lifetime(args.secret_expires)
    app, secret = run(
        settings,
        lambda rt: apps.create_app(
            rt.uow(),
            tenant_ref=args.tenant,
            name=args.name,
            permissions=args.permission or (),
            secret_lifetime=lifetime,
            hash_key=rt.hash_key,
            now=rt.now(),
            sign_in=sign_in,
        ),
    )
    data = {
        "AppID": app.id,
        "AppSecret": secret.value,
        "TenantID": app.tenant_id,
        "permissions": list(app.permissions),
        "redirectUris": list(app.redirect_uris),
        "secretId": secret.secret.id,
        "secretExpires": secret.secret.expires_at,
    }
    emit(data, as_json=args.json)
    if not args.json:
        print("\nStore the AppSecret now: it is shown once and cannot be read again.")


def cmd_app_update(settings: Settings, args: argparse.Namespace) -> None:
    updated = run(
        settings,
        lambda rt: apps.update_sign_in(
            rt.uow(),
            tenant_ref=args.tenant,
            app_id=args.app,
            add_redirect_uris=args.add_redirect_uri or (),
            remove_redirect_uris=args.remove_redirect_uri or (),
            app_id_uri=args.app_id_uri,
            api_scopes=args.scope,
            now=rt.now(),
        ),
    )
    emit(app_view(updated), as_json=args.json)


def cmd_app_list(settings: Settings, args: argparse.Namespace) -> None:
    found = run(settings, lambda rt: apps.list_apps(rt.uow(write=False), tenant_ref=args.tenant))
    emit([app_view(a) for a in found], as_json=args.json)


def cmd_secret_add(settings: Settings, args: argparse.Namespace) -> None:
    lifetime = parse_lifetime(args.expires)
    shown = run(
        settings,
        lambda rt: apps.add_secret(
            rt.uow(),
            tenant_ref=args.tenant,
            app_id=args.app,
            display_name=args.name,
            lifetime=lifetime,
            hash_key=rt.hash_key,
            now=rt.now(),
        ),
    )
    emit(
        {"secretId": shown.secret.id, "AppSecret": shown.value, "expires": shown.secret.expires_at},
        as_json=args.json,
    )


def cmd_secret_list(settings: Settings, args: argparse.Namespace) -> None:
    found = run(
        settings,
        lambda rt: apps.list_secrets(rt.uow(write=False), tenant_ref=args.tenant, app_id=args.app),
    )
    emit([asdict(s) for s in found], as_json=args.json)


def cmd_secret_remove(settings: Settings, args: argparse.Namespace) -> None:
    run(
        settings,
        lambda rt: apps.remove_secret(
            rt.uow(),
            tenant_ref=args.tenant,
            app_id=args.app,
            secret_id=args.secret_id,
            now=rt.now(),
        ),
    )
    emit({"removed": args.secret_id}, as_json=args.json)


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> None:
    key = run(
        settings,
        lambda rt: keys.rotate_keys(
            rt.uow(),
            sealer=rt.sealer,
            now=rt.now(),
            token_lifetime=settings.tokens.lifetime_seconds,
            leeway=settings.tokens.leeway_seconds,
            retire_previous_now=args.retire_previous,
        ),
    )
    emit({"kid": key.kid, "created": key.created_at}, as_json=args.json)


def cmd_keys_list(settings: Settings, args: argparse.Namespace) -> None:
    found = run(settings, lambda rt: keys.list_keys(rt.uow(write=False)))
    now = utcnow()
    newest = found[0].kid if found else ""
    rows = [
        {
            "kid": k.kid,
            "status": k.status(now, newest),
            "created": k.created_at,
            "retires": k.retire_at,
        }
        for k in found
    ]
    emit(rows, as_json=args.json)


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    migrate.upgrade(settings.database.url)
    emit({"revision": migrate.current_revision(settings.database.url)}, as_json=args.json)


def _sign_in_api_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app-id-uri", metavar="URI", help="the app's own API, e.g. api://contoso-reports"
    )
    parser.add_argument(
        "--scope",
        action="append",
        metavar="NAME",
        help="a delegated scope the API exposes (requested as <app-id-uri>/<NAME>); repeatable",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def command(parent: Any, name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(
            name, help=help_text, description=help_text
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.set_defaults(func=func)
        return parser

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(required=True)
    p = command(tenant, "create", cmd_tenant_create, "create a tenant; prints its TenantID")
    p.add_argument("--name", required=True)
    p.add_argument("--domain", action="append", required=True, help="repeat for more domains")
    command(tenant, "list", cmd_tenant_list, "list tenants")
    p = command(
        tenant,
        "set",
        cmd_tenant_set,
        "set a tenant's privacy statement, logo, landing page, invitation lifetime",
    )
    p.add_argument("tenant", help="tenant id or domain")
    p.add_argument("--privacy-url", help="privacy statement shown on the consent page")
    p.add_argument("--logo-url", help="https logo shown in every email")
    logo = p.add_mutually_exclusive_group()
    logo.add_argument(
        "--logo",
        metavar="FILE",
        help="logo image shown on the pages, served by guestgate: PNG, JPEG, GIF or WebP,"
        " at most 256 KiB",
    )
    logo.add_argument("--no-logo", action="store_true", help="remove the logo image")
    p.add_argument("--landing-url", help="default inviteRedirectUrl")
    p.add_argument(
        "--invitation-lifetime-days",
        type=int,
        metavar="N",
        help="days a new or resent invitation's link stays valid: 0-365, 0 = never expires",
    )

    app = sub.add_parser("app", help="manage app registrations").add_subparsers(required=True)
    p = command(app, "create", cmd_app_create, "register an app; prints AppID, AppSecret, TenantID")
    p.add_argument("--tenant", required=True, help="tenant id or domain")
    p.add_argument("--name", required=True)
    p.add_argument("--permission", action="append", choices=PERMISSIONS)
    p.add_argument("--secret-expires", default="2y", help="secret lifetime, e.g. 90d or 2y")
    p.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="where sign-in may return (https, or http on localhost); repeat for more",
    )
    p.add_argument(
        "--public-client",
        action="store_true",
        help="a native or single-page app: no secret, PKCE required",
    )
    _sign_in_api_flags(p)
    p = command(app, "update", cmd_app_update, "change an app's redirect URIs and API")
    p.add_argument("--tenant", required=True, help="tenant id or domain")
    p.add_argument("--app", required=True, help="AppID")
    p.add_argument("--add-redirect-uri", action="append", metavar="URI")
    p.add_argument("--remove-redirect-uri", action="append", metavar="URI")
    _sign_in_api_flags(p)
    p = command(app, "list", cmd_app_list, "list a tenant's apps")
    p.add_argument("--tenant", required=True)
    secret = app.add_parser("secret", help="rotate client secrets").add_subparsers(required=True)
    for name, func, text in (
        ("add", cmd_secret_add, "add a client secret (shown once)"),
        ("list", cmd_secret_list, "list secrets (ids, hints, expiry)"),
        ("remove", cmd_secret_remove, "remove a client secret"),
    ):
        p = command(secret, name, func, text)
        p.add_argument("--tenant", required=True)
        p.add_argument("--app", required=True, help="AppID")
        if name == "add":
            p.add_argument("--name", default="secret", help="label of the secret")
            p.add_argument("--expires", default="2y")
        if name == "remove":
            p.add_argument("secret_id")

    key = sub.add_parser("keys", help="token-signing keys").add_subparsers(required=True)
    p = command(key, "rotate", cmd_keys_rotate, "create a new signing key")
    p.add_argument(
        "--retire-previous",
        action="store_true",
        help="retire older keys at once (their tokens stop working); for a compromised key",
    )
    command(key, "list", cmd_keys_list, "list signing keys and their status")

    db = sub.add_parser("db", help="database").add_subparsers(required=True)
    command(db, "upgrade", cmd_db_upgrade, "apply database migrations")
