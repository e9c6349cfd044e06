"""The Microsoft 365 console's Delete guest, Reset redemption and Edit display name.

The same actions as the local console's profile (web/console_guest_actions.py), over this
mode's frame (web/console_m365.py `M365`) and the shared route of a guest's action
(web/console_guest_routes.py `guest_action`): a form post with the console's CSRF token,
the person's right to change the guest (Global and User administrators), a confirmation,
then the API's use-case with the person as the audit trail's actor. Deleting is Graph's
`DELETE /users/{id}` (InvitationService.delete_user, as the API's), after a sign-in within the
last 10 minutes; Reset redemption is an invitation with Graph's resetRedemption for the same
user object (InvitationService.invite); Edit display name is Graph's `PATCH /users/{id}`
through the directory port (UserAdmin.set_display_name), audited as user.update.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from guestgate.domain.invitations import build_invite_request
from guestgate.web.console_guest_routes import Form, guest_action
from guestgate.web.console_m365 import M365, Signed, _actor


@post("/admin/{tenant:str}/guests/{user_id:str}/delete", include_in_schema=False, status_code=303)
async def delete(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Delete the guest in Entra: every link of theirs stops working; it is kept in
    Deleted guests for 30 days."""

    async def run(signed: Signed, guest: str, form: Form) -> None:
        runtime, person = signed
        await runtime.invitations.delete_user(_actor(runtime, person), guest)

    return await guest_action(
        M365, request, tenant, user_id, verb="delete", run=run, fresh="Deleting a guest",
        landing="guests?deleted=1",
    )  # fmt: skip


@post("/admin/{tenant:str}/guests/{user_id:str}/reset", include_in_schema=False, status_code=303)
async def reset(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """Reset redemption: Microsoft mails a new invitation for the same user object; the
    guest redeems again and earlier links stop working."""

    async def run(signed: Signed, guest: str, form: Form) -> None:
        runtime, person = signed
        actor = _actor(runtime, person)
        view = await runtime.invitations.get(actor, guest)
        invite = build_invite_request(email=view.email, send_message=True, reset_user_id=guest)
        await runtime.invitations.invite(actor, invite)

    return await guest_action(M365, request, tenant, user_id, verb="reset", run=run)


@post("/admin/{tenant:str}/guests/{user_id:str}/rename", include_in_schema=False, status_code=303)
async def rename(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
    """A new display name for the guest, set in Entra, audited as user.update."""

    async def run(signed: Signed, guest: str, form: Form) -> None:
        runtime, person = signed
        await runtime.user_admin.set_display_name(
            _actor(runtime, person), guest, form.get("name", "")
        )

    return await guest_action(M365, request, tenant, user_id, verb="rename", run=run)


ROUTES = [delete, reset, rename]
