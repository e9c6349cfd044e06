"""The admin console's pages: Guests, a guest's profile; Resend and Revoke (Invite is
web/console_invite.py's, over `LocalFrame`).

Server-rendered on the redemption pages' stack (web/forms.py): the same stylesheet, CSP and
CSRF tokens, no JavaScript. Every page starts with `sign_in_first` (web/console.py); what a
person may see and do is decided by services/console_guests.py, whose changes go through the
API's own use-cases.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from guestgate.domain import console as rules
from guestgate.domain.invitations import COMPLETED, MAX_SPONSORS, PENDING
from guestgate.domain.tenants import is_guid
from guestgate.domain.users import unstorable
from guestgate.errors import GuestgateError, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import console_guests as guests
from guestgate.services import console_user_admin
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.errors import status_of
from guestgate.web.forms import message, render, see_other

PAGE_SIZE = 50
STATE_LABELS = {PENDING: "Pending", COMPLETED: "Accepted"}
TITLES = {400: "That request is not valid", 403: "Not allowed", 404: "Not found"}


def when(stamp: str | None) -> str:
    """A stored timestamp as a person reads it: 2026-12-02 14:05 UTC."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else "—"


def signed_page(
    signed: Signed, template: str, status: int = 200, *, section: str, **context: Any
) -> Response[str]:
    """A console page in the signed-in person's frame (the tenant, their roles, the form
    token, `section` lit in the navigation) around the page's own `context`."""
    return render(
        template,
        status,
        org=signed.tenant.name,
        wide=True,
        tenant=signed.tenant.id,
        me=signed.person.email,
        roles=sorted(signed.person.access.roles),
        access=signed.person.access,
        csrf=signed.csrf,
        when=when,
        section=section,
        **context,
    )


def refusal(signed: Signed | None, exc: GuestgateError) -> Response[str]:
    """The message page for an error a console action met, with its status."""
    status = status_of(exc)
    title = TITLES.get(status, "Something went wrong")
    return message(status, title, exc.message, org=signed.tenant.name if signed else None)


def _page(signed: Signed, template: str, status: int = 200, **context: Any) -> Response[str]:
    section = context.pop("section", None) or (
        "invite" if template.startswith("console_invite") else "guests"
    )
    context.setdefault("labels", STATE_LABELS)
    return signed_page(signed, template, status, section=section, **context)


def _after(token: str) -> tuple[str, str] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        sort, user_id = value
        if not (isinstance(sort, str) and isinstance(user_id, str)):
            raise TypeError(token)
        if len(sort) > 512 or unstorable(sort) or not is_guid(user_id):
            raise ValueError(token)
        return sort, user_id
    except (ValueError, TypeError):
        raise ValidationError("The page link is not valid; start from the first page.") from None


def _token(after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).rstrip(b"=").decode()


@get("/admin/{tenant:str}/guests", include_in_schema=False)
async def guest_list(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Guests: filtered, sorted and paged; the count is of every guest the filter matches."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    q = {
        k: request.query_params.get(k, "") for k in ("state", "domain", "requester", "q", "pending")
    }
    sort, order = request.query_params.get("sort", ""), request.query_params.get("order", "")
    try:
        where = rules.check_filter(
            state=q["state"],
            domain=q["domain"],
            requester=q["requester"],
            text=q["q"],
            sort=sort,
            order=order,
            pending_days=q["pending"],
        )
        after = _after(request.query_params.get("after", ""))
        found = await guests.list_guests(
            runtime.uow(write=False),
            person=signed.person,
            where=replace(where, after=after, top=PAGE_SIZE),
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    kept = {k: v for k, v in {**q, "sort": sort, "order": order}.items() if v}
    next_link = None
    if found.next_after is not None:
        next_link = f"?{urlencode({**kept, 'after': _token(found.next_after)})}"
    return _page(
        signed,
        "console_guests.html",
        title=f"Guests - {signed.tenant.name}",
        rows=found.rows,
        count=found.count,
        filters=q,
        sort=where.sort,
        order="desc" if where.descending else "asc",
        states=rules.STATES,
        sorts=rules.SORTS,
        next_link=next_link,
        first_link=f"?{urlencode(kept)}" if after is not None else None,
        selectable={r.user_id for r in found.rows if guests.may_change(signed.person, r)},
        max_selection=guests.MAX_SELECTION,
        deleted=request.query_params.get("deleted", "") == "1",
    )


@get("/admin/{tenant:str}/guests/{user_id:str}", include_in_schema=False)
async def guest_profile(
    request: Request[Any, Any, Any], tenant: str, user_id: str
) -> Response[str]:
    """A guest: properties, invitations, audit entries, sign-in activity, actions."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime = runtime_of(request)
    try:
        found = await guests.profile(
            runtime.uow(write=False), person=signed.person, user_id=user_id, now=runtime.now()
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    confirm = request.query_params.get("confirm", "")
    local = runtime.invitations.directory.is_identity_provider
    sponsors = await console_user_admin.sponsors(
        runtime.user_admin,
        guests.actor_of(signed.person, tenant_name=None, request_id=None),
        found.user.id,
    )
    return _page(
        signed,
        "console_guest.html",
        title=f"{found.user.display_name or found.user.mail} - {signed.tenant.name}",
        guest=found,
        changeable=guests.may_change(signed.person, found.row),
        now=runtime.now(),
        confirm=confirm if confirm in (*guests.ACTIONS, "disable", "enable") else "",
        sponsors=sponsors,
        sponsors_editable=local,
        max_sponsors=MAX_SPONSORS,
        done=request.query_params.get("done", ""),
        renamable=local,
    )


async def _change(
    request: Request[Any, Any, Any], tenant: str, user_id: str, action: str
) -> Response[str]:
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    if form.get("confirmed") != "yes":
        return see_other(f"/admin/{signed.tenant.id}/guests/{user_id}?confirm={action}")
    runtime = runtime_of(request)
    try:
        await guests.change(
            runtime.uow(write=False),
            runtime.invitations,
            person=signed.person,
            actor=guests.actor_of(
                signed.person, tenant_name=signed.tenant.name, request_id=request_id_var.get()
            ),
            user_id=user_id,
            action=action,
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(f"/admin/{signed.tenant.id}/guests/{user_id}?done={action}")


@post("/admin/{tenant:str}/guests/{user_id:str}/resend", include_in_schema=False, status_code=303)
async def resend(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """A new link for the guest's pending invitation, mailed; the old link stops working."""
    return await _change(request, tenant, user_id, "resend")


@post("/admin/{tenant:str}/guests/{user_id:str}/revoke", include_in_schema=False, status_code=303)
async def revoke(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """The guest's invitation link stops working."""
    return await _change(request, tenant, user_id, "revoke")


ROUTES = [guest_list, guest_profile, resend, revoke]
