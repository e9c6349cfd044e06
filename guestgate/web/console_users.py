"""The console's Disable/Enable and sponsors on a guest's profile, and the Deleted guests
page with Restore. Every change is a form post (console CSRF); Disable, Enable and Restore
ask for a confirmation first. The rules are services/console_user_admin.py's.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from litestar import Request, Response, get, post

from guestgate.errors import GuestgateError
from guestgate.services import console_user_admin as admin
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.console_guest_actions import _actor, _profile
from guestgate.web.console_pages import _page, refusal
from guestgate.web.forms import see_other


async def _set_enabled(
    request: Request[Any, Any, Any], tenant: str, user_id: str, enabled: bool
) -> Response[str]:
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    verb = "enable" if enabled else "disable"
    if form.get("confirmed") != "yes":
        return see_other(_profile(signed, user_id, f"confirm={verb}"))
    runtime = runtime_of(request)
    try:
        await admin.set_enabled(
            runtime.uow(write=False),
            runtime.user_admin,
            person=signed.person,
            actor=_actor(request, signed),
            user_id=user_id,
            enabled=enabled,
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(_profile(signed, user_id, f"done={verb}"))


@post("/admin/{tenant:str}/guests/{user_id:str}/disable", include_in_schema=False, status_code=303)
async def disable(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Disable the guest (accountEnabled false): no redemption, no sign-in."""
    return await _set_enabled(request, tenant, user_id, False)


@post("/admin/{tenant:str}/guests/{user_id:str}/enable", include_in_schema=False, status_code=303)
async def enable(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Enable a disabled guest again."""
    return await _set_enabled(request, tenant, user_id, True)


@post("/admin/{tenant:str}/guests/{user_id:str}/sponsors", include_in_schema=False, status_code=303)
async def add_sponsor(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Add a member, by address, as the guest's sponsor (at most five)."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    try:
        await admin.add_sponsor(
            runtime.uow(write=False),
            runtime.uow(write=False),
            runtime.user_admin,
            person=signed.person,
            actor=_actor(request, signed),
            user_id=user_id,
            address=form.get("sponsor", "")[:320],
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(_profile(signed, user_id, "done=sponsor-added"))


@post(
    "/admin/{tenant:str}/guests/{user_id:str}/sponsors/{sponsor_id:str}/remove",
    include_in_schema=False,
    status_code=303,
)
async def remove_sponsor(
    request: Request[Any, Any, Any], tenant: str, user_id: str, sponsor_id: str
) -> Response[str]:
    """Remove one sponsor of the guest."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, _ = checked
    runtime = runtime_of(request)
    try:
        await admin.remove_sponsor(
            runtime.uow(write=False),
            runtime.user_admin,
            person=signed.person,
            actor=_actor(request, signed),
            user_id=user_id,
            sponsor_id=sponsor_id,
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(_profile(signed, user_id, "done=sponsor-removed"))


def _token(after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def _after(token: str) -> tuple[str, str] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        deleted_at, user_id = value
        if isinstance(deleted_at, str) and isinstance(user_id, str):
            return deleted_at, user_id
    except (ValueError, TypeError):
        pass
    return None


def _deleted_page(request: Request[Any, Any, Any], signed: Signed) -> str:
    return f"/admin/{signed.tenant.id}/deleted"


@get("/admin/{tenant:str}/deleted", include_in_schema=False)
async def deleted(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Deleted guests, newest first, kept 30 days for restore."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    token = request.query_params.get("after", "")[:400]
    try:
        found = await admin.deleted(
            runtime.user_admin,
            person=signed.person,
            actor=_actor(request, signed),
            after=_after(token) if token else None,
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    shown = list(found[: admin.DELETED_PAGE])
    more = len(found) > admin.DELETED_PAGE
    last = shown[-1] if shown else None
    return _page(
        signed,
        "console_deleted.html",
        title=f"Deleted guests - {signed.tenant.name}",
        found=shown,
        confirm=request.query_params.get("confirm", "")[:64],
        restorable=admin.may_restore(signed.person),
        next_link=f"?after={_token((last.deleted_at, last.user.id))}" if more and last else None,
        retention_days=runtime.settings.mail.deleted_user_days,
    )


@post("/admin/{tenant:str}/deleted/{user_id:str}/restore", include_in_schema=False, status_code=303)
async def restore(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Restore a deleted guest with its id, sponsors and state."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    if form.get("confirmed") != "yes":
        return see_other(f"{_deleted_page(request, signed)}?confirm={user_id[:64]}")
    runtime = runtime_of(request)
    try:
        user = await admin.restore(
            runtime.user_admin,
            person=signed.person,
            actor=_actor(request, signed),
            user_id=user_id,
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(_profile(signed, user.id, "done=restore"))


ROUTES = [disable, enable, add_sponsor, remove_sponsor, deleted, restore]
