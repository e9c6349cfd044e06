"""The admin console's Approvals page: invitations waiting for an approver.

Global and User administrators see every open request; a person named as a sponsor in a
request sees that one. Each is approved or declined with a comment from its own form
(console CSRF), through the same use-case as `POST /api/approvals/{id}/approve`, audited with
the signed-in person as the actor (services/approvals.py). The decision is checked against
the stored state: a request someone else decided meanwhile answers 409. The same page in
both modes, over each console's frame (web/console_guest_routes.py `ConsoleFrame`;
`approval_routes` builds it), as the API's /api/approvals is served in both.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from guestgate.domain.approvals import ApprovalRequest
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.domain.roles import ConsolePerson as Person
from guestgate.errors import GuestgateError, ValidationError
from guestgate.web.approvals import invitation_shape, service_of
from guestgate.web.console_guest_actions import LOCAL
from guestgate.web.console_guest_routes import ConsoleFrame
from guestgate.web.forms import see_other

DONE = {
    "approved": "The request was approved: the invitation is made.",
    "declined": "The request was declined.",
}


def _admin(person: Person) -> bool:
    return bool(person.access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


def _mine(person: Person, found: ApprovalRequest) -> bool:
    return _admin(person) or person.user_id in found.sponsors


def approval_routes(frame: ConsoleFrame[Any]) -> list[HTTPRouteHandler]:
    """The Approvals page and its Approve and Decline over `frame`."""

    async def page(
        request: Request[Any, Any, Any], signed: Any, status: int = 200, **context: Any
    ) -> Response[str]:
        service = service_of(request)
        person = frame.person(signed)
        open_ = [r for r in await service.list_open(person.tenant_id) if _mine(person, r)]
        return frame.page(
            request,
            signed,
            "console_approvals.html",
            status=status,
            section="approvals",
            title="Approvals",
            requests=open_,
            done=DONE.get(request.query_params.get("done", "")),
            **{"error": None, "failed": None, "comment": "", **context},
        )

    @get("/admin/{tenant:str}/approvals", include_in_schema=False)
    async def approvals_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """The open approval requests this person may decide."""
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        return await page(request, signed)

    async def decide(
        request: Request[Any, Any, Any], tenant: str, request_id: str, verb: str
    ) -> Response[str]:
        checked = await frame.form(request, tenant)
        if isinstance(checked, Response):
            return checked
        signed, form = checked
        service = service_of(request)
        person = frame.person(signed)
        comment = form.get("comment", "")[:4096]
        actor = frame.actor(request, signed)
        try:
            found = await service.get(person.tenant_id, request_id)
            service.check_approver(found, admin=_admin(person), user_id=person.user_id)
            if verb == "approve":
                await service.approve(actor, found.id, comment, shape=invitation_shape)
            else:
                await service.decline(actor, found.id, comment)
        except ValidationError as exc:
            return await page(
                request, signed, 400, error=exc.message, failed=request_id, comment=comment
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        return see_other(f"{frame.base(signed)}/approvals?done={verb}d")

    @post(
        "/admin/{tenant:str}/approvals/{request_id:str}/approve",
        include_in_schema=False,
        status_code=303,
    )
    async def approve(
        request: Request[Any, Any, Any], tenant: str, request_id: str
    ) -> Response[str]:
        """Approve: the invitation is made and mailed; audited with the person as actor."""
        return await decide(request, tenant, request_id, "approve")

    @post(
        "/admin/{tenant:str}/approvals/{request_id:str}/decline",
        include_in_schema=False,
        status_code=303,
    )
    async def decline(
        request: Request[Any, Any, Any], tenant: str, request_id: str
    ) -> Response[str]:
        """Decline with a comment; the requester is told."""
        return await decide(request, tenant, request_id, "decline")

    return [approvals_page, approve, decline]


ROUTES = approval_routes(LOCAL)
