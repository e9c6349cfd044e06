"""The console's Invite page, the same in both modes: every field of InviteGuest (address,
display name, redirect URL, message, its language, one CC recipient, whether to send the
email), through the same use-case and invitation policy as the API
(InvitationService.invite), with the signed-in person as the requester and the audit
trail's actor. The page shows the redeem link once the invitation exists, or that it waits
for an approver. Each console lends its sign-in and pages as a `ConsoleFrame`
(web/console_guest_routes.py); `invite_routes` builds the routes over it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from guestgate.domain.invitations import InviteRequest, build_invite_request
from guestgate.errors import GuestgateError, PendingApproval, PermissionDenied
from guestgate.web.auth import runtime_of
from guestgate.web.console_guest_routes import ConsoleFrame, Form
from guestgate.web.errors import status_of

FIELDS = ("email", "name", "redirect", "message", "language", "cc")


def invite_request(form: Form, *, requester: str | None) -> InviteRequest:
    """The invitation a console form asks for; raises ValidationError naming the field."""

    def text(name: str) -> str | None:
        return form.get(name, "").strip() or None

    cc = text("cc")
    return build_invite_request(
        email=form.get("email", ""),
        redirect_url=text("redirect"),
        send_message=form.get("send") == "yes",
        display_name=text("name"),
        requested_by=requester,
        message_body=text("message"),
        message_language=text("language"),
        cc=None if cc is None else [(None, cc)],
    )


def invite_routes(frame: ConsoleFrame[Any]) -> list[HTTPRouteHandler]:
    """The Invite page and its post, over `frame`."""

    def form_page(
        request: Request[Any, Any, Any],
        signed: Any,
        form: Form,
        *,
        status: int = 200,
        error: str | None = None,
    ) -> Response[str]:
        return frame.page(
            request,
            signed,
            "console_invite.html",
            status=status,
            title="Invite a guest",
            form={k: form.get(k, "") for k in FIELDS},
            send=form.get("send", "yes") == "yes",
            error=error,
        )

    @get("/admin/{tenant:str}/invite", include_in_schema=False)
    async def invite_form(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        if not frame.access(signed).may_invite:
            return frame.refusal(signed, _cannot_invite())
        return form_page(request, signed, {})

    @post("/admin/{tenant:str}/invite", include_in_schema=False, status_code=303)
    async def invite(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """Invite a guest, through the same use-case and gate as the API; shows the link."""
        checked = await frame.form(request, tenant)
        if isinstance(checked, Response):
            return checked
        signed, form = checked
        form.setdefault("send", "no")  # an unchecked box is not sent
        actor = frame.actor(request, signed)
        try:
            if not frame.access(signed).may_invite:
                raise _cannot_invite()
            invitation = invite_request(form, requester=actor.user)
            view = await runtime_of(request).invitations.invite(actor, invitation)
        except PendingApproval as held:
            return frame.page(
                request,
                signed,
                "console_held.html",
                status=202,
                title="Invitation waits for approval",
                held=held,
                email=form.get("email", ""),
            )
        except GuestgateError as exc:
            if status_of(exc) == 403:
                return frame.refusal(signed, exc)
            return form_page(request, signed, form, status=status_of(exc), error=exc.message)
        return frame.page(
            request,
            signed,
            "console_invited.html",
            status=201,
            title="Invitation sent" if view.send_message else "Invitation created",
            view=view,
        )

    return [invite_form, invite]


def _cannot_invite() -> PermissionDenied:
    return PermissionDenied("Your role does not let you invite guests.", code="CannotInvite")
