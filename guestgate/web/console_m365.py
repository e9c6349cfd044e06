"""The admin console in Microsoft 365 mode: sign-in against Entra, the tenant's guests.

Served instead of the local-mode console when GUESTGATE_DIRECTORY=graph. The sign-in is
the authorization code flow with PKCE, state and nonce against GUESTGATE_CONSOLE_AUTHORITY
(services/console_m365.py checks the ID token in full); the roles are the directory roles in
its `wids` claim. The guests are read and changed through the directory port
with guestgate's own app registration, through the same use-cases as the API, audited with
the signed-in person as the actor. Pages the local console has and this mode lacks say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from guestgate.domain.invitations import COMPLETED, PENDING, REVOKED
from guestgate.domain.tenants import is_guid
from guestgate.domain.users import GUEST
from guestgate.domain.views import InvitationQuery, InvitationView
from guestgate.errors import GuestgateError
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services.console_m365 import (
    M365Person,
)
from guestgate.services.directory import Actor
from guestgate.web.errors import status_of
from guestgate.web.forms import (
    check_csrf,
    message,
    read_form,
    render,
    see_other,
)

if TYPE_CHECKING:
    pass

from guestgate.web.console_m365_signin import TITLES, form_token, signed_in, when

PAGE_SIZE = 50
STATES = {"Pending": PENDING, "Accepted": COMPLETED}
LABELS = {PENDING: "Pending", COMPLETED: "Accepted", REVOKED: "Revoked"}
LOCAL_ONLY = {
    "invite": "Invite",
    "bulk": "Bulk invite",
    "webhooks": "Webhooks",
    "activity": "Activity",
    "reports": "Reports",
}


def _page(
    runtime: Runtime, person: M365Person, template: str, status: int = 200, **context: Any
) -> Response[str]:
    return render(
        template,
        status,
        org=runtime.settings.graph.tenant,
        wide=True,
        tenant=person.tenant_id,
        me=person.email,
        roles=person.roles,
        access=person.access,
        csrf=form_token(runtime, person),
        when=when,
        labels=LABELS,
        **context,
    )


def _refusal(exc: GuestgateError) -> Response[str]:
    status = status_of(exc)
    return message(status, TITLES.get(status, "Something went wrong"), exc.message)


def _actor(runtime: Runtime, person: M365Person) -> Actor:
    return Actor(
        tenant_id=person.tenant_id,
        app_id=None,
        request_id=request_id_var.get(),
        user=person.email,
    )


def _sees_guests(person: M365Person) -> bool:
    """Graph keeps no requester or sponsor: the list is for administrators and readers."""
    return person.access.sees_all


def _no_list(runtime: Runtime, person: M365Person) -> Response[str]:
    return message(
        403,
        "Not allowed",
        "In Microsoft 365 mode the console shows guests to administrators and Global Readers:"
        " Microsoft Graph does not say who requested or sponsors a guest, so a Guest inviter's"
        " own guests cannot be told apart here. Invite through the API or the Entra portal.",
    )


@get("/admin/{tenant:str}/guests", include_in_schema=False)
async def guest_list(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The tenant's guests from Graph, a page at a time (Graph's own skiptoken)."""
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    if not _sees_guests(person):
        return _no_list(runtime, person)
    state = request.query_params.get("state", "")
    email = request.query_params.get("email", "").strip()
    skiptoken = request.query_params.get("after", "")
    if state and state not in STATES:
        return message(400, TITLES[400], f"The state must be one of: {', '.join(STATES)}.")
    if len(email) > 320 or any(c in email for c in "\r\n\t"):
        return message(
            400, TITLES[400], "The email filter must be one address, at most 320 characters."
        )
    if len(skiptoken) > 2048 or not skiptoken.isprintable():
        return message(400, TITLES[400], "The page link is not valid; start from the first page.")
    try:
        found = await runtime.invitations.list(
            _actor(runtime, person),
            InvitationQuery(
                status=STATES.get(state),
                email=email.lower() or None,
                top=PAGE_SIZE,
                skiptoken=skiptoken or None,
            ),
        )
    except GuestgateError as exc:
        return _refusal(exc)
    kept = {k: v for k, v in {"state": state, "email": email}.items() if v}
    next_link = None
    if found.next_token is not None:
        next_link = f"?{urlencode({**kept, 'after': found.next_token})}"
    return _page(
        runtime,
        person,
        "console_m365_guests.html",
        title="Guests - Microsoft 365",
        rows=list(found.items),
        state=state,
        email=email,
        states=list(STATES),
        next_link=next_link,
        first_link=f"?{urlencode(kept)}" if skiptoken else None,
    )


def _guest_state(view: InvitationView) -> str:
    return LABELS.get(view.status, view.status)


@get("/admin/{tenant:str}/guests/{user_id:str}", include_in_schema=False)
async def guest_profile(
    request: Request[Any, Any, Any], tenant: str, user_id: str
) -> Response[str]:
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    if not _sees_guests(person):
        return _no_list(runtime, person)
    if not is_guid(user_id):
        return message(404, TITLES[404], f"There is no guest {user_id[:64]!r} in this tenant.")
    try:
        view = await runtime.invitations.get(_actor(runtime, person), user_id)
    except GuestgateError as exc:
        return _refusal(exc)
    if view.user_type != GUEST:
        return message(404, TITLES[404], f"There is no guest {user_id} in this tenant.")
    confirm = request.query_params.get("confirm", "")
    return _page(
        runtime,
        person,
        "console_m365_guest.html",
        title=f"{view.display_name or view.email} - Microsoft 365",
        guest=view,
        state=_guest_state(view),
        changeable=person.access.may_change(sponsored=False, requested=False),
        confirm=confirm if confirm in ("resend", "revoke") else "",
        done=request.query_params.get("done", ""),
    )


async def _change(
    request: Request[Any, Any, Any], tenant: str, user_id: str, action: str
) -> Response[str]:
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    try:
        form = await read_form(request, 10)
    except GuestgateError:
        form = {}
    if not check_csrf(runtime, f"console-m365:{person.session_hash}", form):
        return message(
            403, "This request was refused", "The form was not sent by this console's page."
        )
    if not person.access.may_change(sponsored=False, requested=False):
        return message(
            403,
            "Not allowed",
            "In Microsoft 365 mode only Global and User administrators resend and revoke"
            " invitations from the console.",
        )
    if not is_guid(user_id):
        return message(404, TITLES[404], f"There is no guest {user_id[:64]!r} in this tenant.")
    if form.get("confirmed") != "yes":
        return see_other(f"/admin/{person.tenant_id}/guests/{user_id}?confirm={action}")
    actor = _actor(runtime, person)
    try:
        if action == "resend":
            await runtime.invitations.resend(actor, user_id)
        else:
            await runtime.invitations.revoke(actor, user_id)
    except GuestgateError as exc:
        return _refusal(exc)
    if action == "revoke":
        return message(
            200,
            "The invitation was revoked",
            "The guest user was deleted from the tenant; its invitation link no longer works.",
        )
    return see_other(f"/admin/{person.tenant_id}/guests/{user_id}?done={action}")


@post("/admin/{tenant:str}/guests/{user_id:str}/resend", include_in_schema=False, status_code=303)
async def resend(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    return await _change(request, tenant, user_id, "resend")


@post("/admin/{tenant:str}/guests/{user_id:str}/revoke", include_in_schema=False, status_code=303)
async def revoke(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    return await _change(request, tenant, user_id, "revoke")


@get("/admin/{tenant:str}/{section:str}", include_in_schema=False)
async def local_only(request: Request[Any, Any, Any], tenant: str, section: str) -> Response[str]:
    """The local console's other pages: what this mode does not have, said plainly."""
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    name = LOCAL_ONLY.get(section)
    if name is None:
        return message(404, TITLES[404], "The admin console has no such page.")
    return message(
        404,
        f"{name} is not in the Microsoft 365 console",
        f"The {name} page works with guestgate's own directory (local mode). In Microsoft 365"
        " mode, use the API for it, or the Entra admin center.",
    )


ROUTES = [guest_list, guest_profile, resend, revoke, local_only]
