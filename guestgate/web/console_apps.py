"""The admin console's Apps pages: the tenant's app registrations.

The list; an app's page with its permissions, client type, redirect URIs (add, remove) and
client secrets (hint, description, created, expiry; add, remove after a confirmation). A
new secret's value is shown once: the post stores it sealed in a short-lived cookie bound to
the console session and redirects to a page that shows it and clears the cookie, so a reload
shows it no more. Adding a secret needs a sign-in within the last 10 minutes
(web/console_reauth.py). services/console_apps.py decides who may see and do what.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from guestgate.domain.timestamps import parse_iso
from guestgate.errors import ConfigError, GuestgateError
from guestgate.services import console_apps as registry
from guestgate.services.console_apps import LIFETIMES
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.console_pages import refusal, signed_page
from guestgate.web.console_reauth import require_recent_sign_in
from guestgate.web.errors import status_of
from guestgate.web.forms import cookie, cookie_name, see_other

SHOWN_COOKIE = "gg_console_secret"
SHOWN_SECONDS = 120
_SEAL = "console-app-secret"
MAX_NAME = 120
DONE = {
    "added": "The redirect URI was added.",
    "removed": "The redirect URI was removed.",
    "secret-removed": "The secret was removed; no new token is issued with it.",
}
CHANGE: dict[str, Any] = {"include_in_schema": False, "status_code": 303}


def _left(now: datetime) -> Callable[[str], str]:
    """How long a secret has left, as the page says it: in 90 days, today, expired."""

    def left(stamp: str) -> str:
        days = (parse_iso(stamp) - now).days
        if parse_iso(stamp) <= now:
            return "expired"
        return "expires today" if days == 0 else f"in {days} day{'' if days == 1 else 's'}"

    return left


def _page(signed: Signed, template: str, status: int = 200, **context: Any) -> Response[str]:
    return signed_page(
        signed,
        template,
        status,
        section="apps",
        lifetimes=LIFETIMES,
        left=_left(context.pop("now")) if "now" in context else str,
        **context,
    )


async def _signed(request: Request[Any, Any, Any], tenant: str) -> Signed | Response[str]:
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    try:
        registry.require_view(signed.person)
    except GuestgateError as exc:
        return refusal(signed, exc)
    return signed


@get("/admin/{tenant:str}/apps", include_in_schema=False)
async def app_list(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The tenant's app registrations."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    rows = await registry.list_apps(runtime_of(request).uow(write=False), person=signed.person)
    return _page(
        signed,
        "console_apps.html",
        title=f"Apps - {signed.tenant.name}",
        rows=rows,
        limit=registry.MAX_APPS,
    )


async def _detail(
    signed: Signed, request: Request[Any, Any, Any], app_id: str, **context: Any
) -> Response[str]:
    runtime = runtime_of(request)
    try:
        row = await registry.get_app(runtime.uow(write=False), person=signed.person, app_id=app_id)
    except GuestgateError as exc:
        return refusal(signed, exc)
    status = context.pop("status", 200)
    return _page(
        signed,
        "console_app.html",
        status,
        title=f"{row.app.name} - Apps - {signed.tenant.name}",
        row=row,
        now=runtime.now(),
        may_change=registry.may_manage(signed.person),
        **{"confirm": None, "done": "", "error": "", "form": {}, **context},
    )


@get("/admin/{tenant:str}/apps/{app_id:str}", include_in_schema=False)
async def app_detail(request: Request[Any, Any, Any], tenant: str, app_id: str) -> Response[str]:
    """An app: its permissions, client type, redirect URIs and secrets."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    query = request.query_params
    confirm = None
    if query.get("confirm") == "remove-secret":
        confirm = query.get("secret", "")[:64]
    return await _detail(
        signed, request, app_id, done=DONE.get(query.get("done", ""), ""), confirm=confirm
    )


async def _redirect_uri(
    request: Request[Any, Any, Any], tenant: str, app_id: str, *, add: bool
) -> Response[str]:
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    uri = form.get("uri", "")
    try:
        app = await registry.change_redirect_uri(
            runtime.uow(), person=signed.person, app_id=app_id, uri=uri, add=add, now=runtime.now()
        )
    except GuestgateError as exc:
        if status_of(exc) == 403:
            return refusal(signed, exc)
        return await _detail(
            signed,
            request,
            app_id,
            status=status_of(exc),
            error=exc.message,
            form={"uri": uri[:1100]} if add else {},
        )
    done = "added" if add else "removed"
    return see_other(f"/admin/{signed.tenant.id}/apps/{app.id}?done={done}#redirects")


@post("/admin/{tenant:str}/apps/{app_id:str}/redirect-uris", **CHANGE)
async def redirect_add(request: Request[Any, Any, Any], tenant: str, app_id: str) -> Response[str]:
    """Add a redirect URI (https, or http on a loopback host; no fragment, no wildcard)."""
    return await _redirect_uri(request, tenant, app_id, add=True)


@post("/admin/{tenant:str}/apps/{app_id:str}/redirect-uris/remove", **CHANGE)
async def redirect_remove(
    request: Request[Any, Any, Any], tenant: str, app_id: str
) -> Response[str]:
    """Remove one of the app's redirect URIs."""
    return await _redirect_uri(request, tenant, app_id, add=False)


def _secret_form(query: Any) -> dict[str, str]:
    return {"name": query.get("name", "")[: MAX_NAME + 8], "lifetime": query.get("lifetime", "")}


@get("/admin/{tenant:str}/apps/{app_id:str}/secrets/new", include_in_schema=False)
async def secret_confirm(
    request: Request[Any, Any, Any], tenant: str, app_id: str
) -> Response[str]:
    """The add-a-secret confirmation with its values, where a fresh sign-in comes back to."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    return await _detail(
        signed, request, app_id, confirm="add-secret", form=_secret_form(request.query_params)
    )


@post("/admin/{tenant:str}/apps/{app_id:str}/secrets", **CHANGE)
async def secret_add(request: Request[Any, Any, Any], tenant: str, app_id: str) -> Response[str]:
    """Add a client secret; the next page shows its value, once."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    values = {"name": form.get("name", "")[: MAX_NAME + 8], "lifetime": form.get("lifetime", "")}
    try:
        registry.require_manage(signed.person)
        row = await registry.get_app(runtime.uow(write=False), person=signed.person, app_id=app_id)
    except GuestgateError as exc:
        return refusal(signed, exc)
    base = f"/admin/{signed.tenant.id}/apps/{row.app.id}"
    again = await require_recent_sign_in(
        request,
        signed,
        action=f"Adding a client secret to {row.app.name}",
        back=f"{base}/secrets/new?{urlencode(values)}",
    )
    if again is not None:
        return again
    try:
        made = await registry.add_secret(
            runtime.uow(),
            person=signed.person,
            app_id=row.app.id,
            display_name=values["name"],
            lifetime=values["lifetime"],
            hash_key=runtime.hash_key,
            now=runtime.now(),
        )
    except GuestgateError as exc:
        if status_of(exc) == 403:
            return refusal(signed, exc)
        return await _detail(
            signed,
            request,
            app_id,
            status=status_of(exc),
            error=exc.message,
            form=values,
            confirm="add-secret" if form.get("confirmed") == "yes" else None,
        )
    shown = {"a": row.app.id, "i": made.secret.id, "v": made.value, "s": signed.person.session_hash}
    sealed = runtime.sealer.seal(json.dumps(shown).encode(), _SEAL)
    return see_other(
        f"{base}/secrets/{made.secret.id}/created",
        cookies=[cookie(runtime, SHOWN_COOKIE, sealed, SHOWN_SECONDS)],
    )


@get(
    "/admin/{tenant:str}/apps/{app_id:str}/secrets/{secret_id:str}/created", include_in_schema=False
)
async def secret_created(
    request: Request[Any, Any, Any], tenant: str, app_id: str, secret_id: str
) -> Response[str]:
    """A new secret's value, this once: the cookie that carried it is cleared."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    sealed = request.cookies.get(cookie_name(runtime, SHOWN_COOKIE), "")
    value = ""
    try:
        found = json.loads(runtime.sealer.open(sealed, _SEAL)) if sealed else {}
    except (ConfigError, ValueError):
        found = {}
    if (
        isinstance(found, dict)
        and found.get("a") == app_id.lower()
        and found.get("i") == secret_id.lower()
        and found.get("s") == signed.person.session_hash
        and isinstance(found.get("v"), str)
    ):
        value = found["v"]
    page = await _detail(signed, request, app_id, secret=value, secret_id=secret_id.lower())
    page.cookies.append(cookie(runtime, SHOWN_COOKIE, "", 0))
    return page


@post("/admin/{tenant:str}/apps/{app_id:str}/secrets/{secret_id:str}/remove", **CHANGE)
async def secret_remove(
    request: Request[Any, Any, Any], tenant: str, app_id: str, secret_id: str
) -> Response[str]:
    """Remove a client secret, once confirmed."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    try:
        registry.require_manage(signed.person)
        row = await registry.get_app(runtime.uow(write=False), person=signed.person, app_id=app_id)
        base = f"/admin/{signed.tenant.id}/apps/{row.app.id}"
        if form.get("confirmed") != "yes":
            return see_other(
                f"{base}?{urlencode({'confirm': 'remove-secret', 'secret': secret_id[:64]})}"
                "#secrets"
            )
        await registry.remove_secret(
            runtime.uow(),
            person=signed.person,
            app_id=row.app.id,
            secret_id=secret_id,
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(f"{base}?done=secret-removed#secrets")


ROUTES = [
    app_list,
    app_detail,
    redirect_add,
    redirect_remove,
    secret_confirm,
    secret_add,
    secret_created,
    secret_remove,
]
