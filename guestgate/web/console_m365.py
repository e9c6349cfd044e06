"""The admin console in Microsoft 365 mode: sign-in against Entra, the tenant's guests.

Served instead of the local-mode console when GUESTGATE_DIRECTORY=graph. The sign-in is
the authorization code flow with PKCE, state and nonce against GUESTGATE_CONSOLE_AUTHORITY
(services/console_m365.py checks the ID token in full); the roles are the directory roles in
its `wids` claim. The guests are read and changed through the directory port
with guestgate's own app registration, through the same use-cases as the API, audited with
the signed-in person as the actor. A guest's sponsors, Disable/Enable and the Deleted guests
page with Restore are the routes the local console has too (web/console_guest_routes.py), over
this mode's sign-in and pages (`M365Frame`). Pages the local console has and this mode lacks
say so.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from guestgate.domain.invitations import COMPLETED, MAX_SPONSORS, PENDING, REVOKED
from guestgate.domain.roles import Access
from guestgate.domain.tenants import is_guid
from guestgate.domain.users import GUEST
from guestgate.domain.views import InvitationQuery, InvitationView
from guestgate.errors import GuestgateError
from guestgate.logs import request_id_var
from guestgate.runtime import Runtime
from guestgate.services import console_m365 as rules
from guestgate.services import console_user_admin
from guestgate.services.console_m365 import M365Person
from guestgate.services.directory import Actor
from guestgate.web.console_approvals import approval_routes
from guestgate.web.console_audit import audit_routes
from guestgate.web.console_bulk import STATIC_ROUTES, bulk_routes
from guestgate.web.console_events import event_routes
from guestgate.web.console_guest_routes import Form, guest_action, user_routes
from guestgate.web.console_invite import invite_routes
from guestgate.web.console_m365_signin import (
    TITLES,
    form_token,
    require_recent_sign_in,
    signed_form,
    signed_in,
    when,
)
from guestgate.web.errors import status_of
from guestgate.web.forms import check_csrf, message, render

Signed = tuple[Runtime, M365Person]

PAGE_SIZE = 50
STATES = {"Pending": PENDING, "Accepted": COMPLETED}
LABELS = {PENDING: "Pending", COMPLETED: "Accepted", REVOKED: "Revoked"}
SECTIONS = (
    ("console_invite", "invite"),
    ("console_held", "invite"),
    ("console_bulk", "bulk"),
    ("console_m365_reports", "reports"),
)
CONFIRMS = ("resend", "revoke", "disable", "enable", "reset", "rename", "delete")
LOCAL_ONLY = {
    "lifecycle": "Lifecycle",
}
IN_ENTRA = {"tenant": "Tenant", "apps": "Apps"}


def _section(template: str) -> str:
    """The navigation's entry a page lights."""
    for prefix, section in SECTIONS:
        if template.startswith(prefix):
            return section
    return "guests"


def _page(
    runtime: Runtime, person: M365Person, template: str, status: int = 200, **context: Any
) -> Response[str]:
    context.setdefault("section", _section(template))
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
        nav="console_m365_nav.html",
        **{"labels": LABELS, **context},
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
        " own guests cannot be told apart here. Invite guests on the Invite page:"
        f" /admin/{person.tenant_id}/invite.",
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
        deleted=request.query_params.get("deleted") == "1",
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
    actor = _actor(runtime, person)
    try:
        # Three reads from Graph, at once: the invitation's state, the user, its sponsors.
        view, user, sponsors = await asyncio.gather(
            runtime.invitations.get(actor, user_id),
            rules.guest(runtime.user_admin, actor, user_id),
            console_user_admin.sponsors(runtime.user_admin, actor, user_id),
        )
    except GuestgateError as exc:
        return _refusal(exc)
    if view.user_type != GUEST:
        return message(404, TITLES[404], f"There is no guest {user_id} in this tenant.")
    confirm = request.query_params.get("confirm", "")
    changeable = person.access.may_change(sponsored=False, requested=False)
    return _page(
        runtime,
        person,
        "console_m365_guest.html",
        title=f"{view.display_name or view.email} - Microsoft 365",
        guest=view,
        user=user,
        state=_guest_state(view),
        changeable=changeable,
        confirm=confirm if confirm in CONFIRMS else "",
        done=request.query_params.get("done", ""),
        sponsors=sponsors,
        sponsors_editable=True,
        max_sponsors=MAX_SPONSORS,
        base=f"/admin/{person.tenant_id}/guests/{user.id}",
    )


class M365Frame:
    """Microsoft 365 mode's console as the shared routes (web/console_guest_routes.py) see it:
    the person from the sealed cookie, this module's pages, administrators change guests."""

    async def signed(self, request: Request[Any, Any, Any], tenant: str) -> Signed | Response[str]:
        return await signed_in(request, tenant)

    async def form(
        self, request: Request[Any, Any, Any], tenant: str, max_fields: int = 10
    ) -> tuple[Signed, Form] | Response[str]:
        return await signed_form(request, tenant, max_fields)

    def refusal(self, signed: Signed, exc: GuestgateError) -> Response[str]:
        return _refusal(exc)

    def base(self, signed: Signed) -> str:
        return f"/admin/{signed[1].tenant_id}"

    def access(self, signed: Signed) -> Access:
        return signed[1].access

    def person(self, signed: Signed) -> M365Person:
        return signed[1]

    def checks_token(self, request: Request[Any, Any, Any], signed: Signed, form: Form) -> bool:
        return check_csrf(signed[0], f"console-m365:{signed[1].session_hash}", form)

    def actor(self, request: Request[Any, Any, Any], signed: Signed) -> Actor:
        return _actor(*signed)

    async def changeable(
        self, request: Request[Any, Any, Any], signed: Signed, user_id: str
    ) -> str:
        runtime, person = signed
        guest = await rules.changeable(runtime.user_admin, person, _actor(runtime, person), user_id)
        return guest.id

    def page(
        self, request: Request[Any, Any, Any], signed: Signed, template: str, **context: Any
    ) -> Response[str]:
        title = f"{context.pop('title')} - Microsoft 365"
        return _page(*signed, template, title=title, **context)

    async def recent_sign_in(
        self, request: Request[Any, Any, Any], signed: Signed, *, action: str, back: str
    ) -> Response[str] | None:
        return await require_recent_sign_in(request, signed[1], action=action, back=back)


M365 = M365Frame()


async def _change(
    request: Request[Any, Any, Any], tenant: str, user_id: str, action: str
) -> Response[str]:
    revoked: list[bool] = []

    async def run(signed: Signed, guest: str, form: Form) -> None:
        runtime, person = signed
        if action == "resend":
            await runtime.invitations.resend(_actor(runtime, person), guest)
        else:
            await runtime.invitations.revoke(_actor(runtime, person), guest)
            revoked.append(True)

    answer = await guest_action(M365, request, tenant, user_id, verb=action, run=run)
    if revoked:
        return message(
            200,
            "The invitation was revoked",
            "The guest user was deleted from the tenant; its invitation link no longer works.",
        )
    return answer


@post("/admin/{tenant:str}/guests/{user_id:str}/resend", include_in_schema=False, status_code=303)
async def resend(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    return await _change(request, tenant, user_id, "resend")


@post("/admin/{tenant:str}/guests/{user_id:str}/revoke", include_in_schema=False, status_code=303)
async def revoke(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    return await _change(request, tenant, user_id, "revoke")


@get("/admin/{tenant:str}/{section:str}", include_in_schema=False)
async def local_only(request: Request[Any, Any, Any], tenant: str, section: str) -> Response[str]:
    """The local console's pages this mode lacks, said plainly: the tenant's settings and
    app registrations, which are Entra's, and pages the API serves in this mode."""
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    if section in IN_ENTRA:
        entra = IN_ENTRA[section]
        return message(
            404,
            f"{entra} is not in the Microsoft 365 console",
            f"In Microsoft 365 mode the tenant's settings and app registrations are Entra's:"
            f" change them in the Entra admin center. ({entra} is a page of guestgate's own"
            " directory, local mode.)",
        )
    name = LOCAL_ONLY.get(section)
    if name is None:
        return message(404, TITLES[404], "The admin console has no such page.")
    return message(
        404,
        f"{name} is not in the Microsoft 365 console",
        f"The {name} page is in the local console only; in Microsoft 365 mode the API"
        " serves it (docs/api.md).",
    )


ROUTES = [
    guest_list,
    guest_profile,
    resend,
    revoke,
    *user_routes(M365),
    *invite_routes(M365),
    *bulk_routes(M365),
    *STATIC_ROUTES,
    *event_routes(M365),
    *audit_routes(M365),
    *approval_routes(M365),
    local_only,
]
