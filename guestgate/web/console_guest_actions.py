"""The console's guest actions beyond resend and revoke: delete, reset redemption, edit the
display name on a guest's profile, and bulk resend, revoke and delete on a selection.

Every action is a form post (console CSRF), behind a confirmation, decided by
services/console_guests.py with the person's roles, and done through the API's use-cases
(InvitationService) with the signed-in person as the audit trail's actor. Deleting needs a
sign-in within the last 10 minutes (web/console_reauth.py). A bulk action takes at most
`MAX_SELECTION` guests and does them one after another within the request, each in its own
transaction; the result page lists each guest's outcome.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from guestgate.domain.roles import Access
from guestgate.errors import GuestgateError, PermissionDenied, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import console_guests as guests
from guestgate.services.console import Person
from guestgate.services.console_guests import BULK_ACTIONS, MAX_SELECTION
from guestgate.services.directory import Actor
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.console_guest_routes import Form, guest_action
from guestgate.web.console_invite import invite_routes
from guestgate.web.console_pages import _page, refusal
from guestgate.web.console_reauth import require_recent_sign_in
from guestgate.web.forms import check_csrf, see_other

VERBS = {"resend": "Resend", "revoke": "Revoke", "delete": "Delete"}
SELECTED = "g:"  # a selected guest's checkbox: g:<user id>


class LocalFrame:
    """Local mode's console as the shared routes see it."""

    async def signed(self, request: Request[Any, Any, Any], tenant: str) -> Signed | Response[str]:
        return await sign_in_first(request, tenant)

    async def form(
        self, request: Request[Any, Any, Any], tenant: str, max_fields: int = 10
    ) -> tuple[Signed, Form] | Response[str]:
        return await checked_form(request, tenant, max_fields)

    def refusal(self, signed: Signed, exc: GuestgateError) -> Response[str]:
        return refusal(signed, exc)

    def base(self, signed: Signed) -> str:
        return f"/admin/{signed.tenant.id}"

    def access(self, signed: Signed) -> Access:
        return signed.person.access

    def person(self, signed: Signed) -> Person:
        return signed.person

    def checks_token(self, request: Request[Any, Any, Any], signed: Signed, form: Form) -> bool:
        runtime = runtime_of(request)
        return check_csrf(runtime, f"console:{signed.person.session_hash}", form)

    def actor(self, request: Request[Any, Any, Any], signed: Signed) -> Actor:
        return guests.actor_of(
            signed.person, tenant_name=signed.tenant.name, request_id=request_id_var.get()
        )

    async def changeable(
        self, request: Request[Any, Any, Any], signed: Signed, user_id: str
    ) -> str:
        runtime = runtime_of(request)
        row = await guests.changeable(
            runtime.uow(write=False), signed.person, user_id, runtime.now()
        )
        return row.user_id

    def page(
        self, request: Request[Any, Any, Any], signed: Signed, template: str, **context: Any
    ) -> Response[str]:
        title = f"{context.pop('title')} - {signed.tenant.name}"
        return _page(signed, template, title=title, **context)

    async def recent_sign_in(
        self, request: Request[Any, Any, Any], signed: Signed, *, action: str, back: str
    ) -> Response[str] | None:
        return await require_recent_sign_in(request, signed, action=action, back=back)


LOCAL = LocalFrame()


def _actor(request: Request[Any, Any, Any], signed: Signed) -> Actor:
    return LOCAL.actor(request, signed)


async def fresh_sign_in(
    request: Request[Any, Any, Any], signed: Signed, *, action: str, back: str
) -> Response[str] | None:
    """None when the person signed in within the last 10 minutes; otherwise the page that
    asks them to sign in again and come back to `back`."""
    return await require_recent_sign_in(request, signed, action=action, back=back)


def _profile(signed: Signed, user_id: str, query: str = "") -> str:
    return f"/admin/{signed.tenant.id}/guests/{user_id}" + (f"?{query}" if query else "")


@post("/admin/{tenant:str}/guests/{user_id:str}/delete", include_in_schema=False, status_code=303)
async def delete(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Delete the guest (Graph's DELETE /users/{id}): every link of theirs stops working."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    try:
        row = await guests.changeable(
            runtime.uow(write=False), signed.person, user_id, runtime.now()
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    if form.get("confirmed") != "yes":
        return see_other(_profile(signed, row.user_id, "confirm=delete"))
    again = await fresh_sign_in(
        request,
        signed,
        action="Deleting a guest",
        back=_profile(signed, row.user_id, "confirm=delete"),
    )
    if again is not None:
        return again
    try:
        await guests.change(
            runtime.uow(write=False),
            runtime.invitations,
            person=signed.person,
            actor=_actor(request, signed),
            user_id=row.user_id,
            action="delete",
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    # The list says a guest was deleted, not which: a link can carry any text.
    return see_other(f"/admin/{signed.tenant.id}/guests?deleted=1")


@post("/admin/{tenant:str}/guests/{user_id:str}/reset", include_in_schema=False, status_code=303)
async def reset(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Reset redemption: a new invitation for the same user; earlier links stop working."""
    runtime = runtime_of(request)

    async def run(signed: Signed, guest: str, form: Form) -> None:
        await guests.reset_redemption(
            lambda: runtime.uow(write=False),
            runtime.invitations,
            person=signed.person,
            actor=_actor(request, signed),
            user_id=guest,
            now=runtime.now(),
        )

    return await guest_action(LOCAL, request, tenant, user_id, verb="reset", run=run)


@post("/admin/{tenant:str}/guests/{user_id:str}/rename", include_in_schema=False, status_code=303)
async def rename(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """A new display name for the guest (local mode), audited as user.update."""
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    runtime = runtime_of(request)
    if form.get("confirmed") != "yes":
        return see_other(_profile(signed, user_id, "confirm=rename"))
    try:
        await guests.rename(
            runtime.user_admin,
            runtime.uow(write=False),
            person=signed.person,
            actor=_actor(request, signed),
            user_id=user_id,
            display_name=form.get("name", ""),
            now=runtime.now(),
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(_profile(signed, user_id, "done=rename"))


def _selection(items: list[tuple[str, str]]) -> list[str]:
    return [k[len(SELECTED) :] for k, _ in items if k.startswith(SELECTED)]


def _back(signed: Signed, action: str, ids: list[str]) -> str:
    """The confirmation page of this selection, to come back to after a fresh sign-in."""
    query = urlencode([("action", action), *((SELECTED.rstrip(":"), i) for i in ids)])
    return f"/admin/{signed.tenant.id}/guests/bulk?{query}"


def _checked(signed: Signed, action: str, raw: list[str]) -> list[str]:
    if not signed.person.access.may_manage:
        raise PermissionDenied(guests.READ_ONLY, code="ReadOnlyRole")
    if action not in BULK_ACTIONS:
        raise ValidationError(
            "Choose resend, revoke or delete for the selected guests.", code="UnknownAction"
        )
    return guests.check_selection(raw)


async def _confirmation(
    request: Request[Any, Any, Any], signed: Signed, action: str, raw: list[str]
) -> Response[str]:
    runtime = runtime_of(request)
    try:
        ids = _checked(signed, action, raw)
    except GuestgateError as exc:
        return refusal(signed, exc)
    if action == "delete":
        again = await fresh_sign_in(
            request, signed, action="Deleting guests", back=_back(signed, action, ids)
        )
        if again is not None:
            return again
    found = await guests.selected(
        runtime.uow(write=False), person=signed.person, ids=ids, now=runtime.now()
    )
    return _page(
        signed,
        "console_guest_bulk.html",
        title=f"{VERBS[action]} {len(ids)} guests - {signed.tenant.name}",
        action=action,
        verb=VERBS[action],
        found=found,
        kept=[row for _, row, _ in found if row is not None],
        max_selection=MAX_SELECTION,
    )


@get("/admin/{tenant:str}/guests/bulk", include_in_schema=False)
async def bulk_confirm(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The confirmation of a bulk action on a selection (as the list's buttons post it)."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    ids = request.query_params.getall("g", [])
    return await _confirmation(request, signed, request.query_params.get("action", ""), ids)


@post("/admin/{tenant:str}/guests/bulk", include_in_schema=False, status_code=200)
async def bulk(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Resend, revoke or delete the selected guests: the confirmation, then each one's
    outcome."""
    checked = await checked_form(request, tenant, max_fields=2 * MAX_SELECTION + 5)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    action = form.get("action", "")
    raw = _selection(list(form.items()))
    if form.get("confirmed") != "yes":
        return await _confirmation(request, signed, action, raw)
    runtime = runtime_of(request)
    try:
        ids = _checked(signed, action, raw)
    except GuestgateError as exc:
        return refusal(signed, exc)
    if action == "delete":
        again = await fresh_sign_in(
            request, signed, action="Deleting guests", back=_back(signed, action, ids)
        )
        if again is not None:
            return again
    outcomes = await guests.bulk(
        lambda: runtime.uow(write=False),
        runtime.invitations,
        person=signed.person,
        actor=_actor(request, signed),
        action=action,
        ids=ids,
        now=runtime.now(),
    )
    return _page(
        signed,
        "console_guest_bulk_done.html",
        title=f"{VERBS[action]}: results - {signed.tenant.name}",
        action=action,
        verb=VERBS[action],
        outcomes=outcomes,
        succeeded=sum(1 for o in outcomes if o.ok),
    )


ROUTES = [delete, reset, rename, bulk_confirm, bulk, *invite_routes(LOCAL)]
