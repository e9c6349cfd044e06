"""The admin console's Approvals page: invitations waiting for an approver.

Global and User administrators see every open request; a person named as a sponsor in a
request sees that one. Each is approved or declined with a comment from its own form
(console CSRF), through the same use-case as `POST /api/approvals/{id}/approve`, audited with
the signed-in person as the actor (services/approvals.py). The decision is checked against
the stored state: a request someone else decided meanwhile answers 409.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from guestgate.domain.approvals import ApprovalRequest
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.errors import GuestgateError, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import console_guests as guests
from guestgate.services.console import Person
from guestgate.web.approvals import invitation_shape, service_of
from guestgate.web.console import Signed, checked_form, sign_in_first
from guestgate.web.console_pages import refusal, signed_page
from guestgate.web.forms import see_other

DONE = {
    "approved": "The request was approved: the invitation is made.",
    "declined": "The request was declined.",
}


def _admin(person: Person) -> bool:
    return bool(person.access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


def _mine(person: Person, found: ApprovalRequest) -> bool:
    return _admin(person) or person.user.id in found.sponsors


async def _page(
    request: Request[Any, Any, Any], signed: Signed, status: int = 200, **context: Any
) -> Response[str]:
    service = service_of(request)
    open_ = [r for r in await service.list_open(signed.tenant.id) if _mine(signed.person, r)]
    return signed_page(
        signed,
        "console_approvals.html",
        status,
        section="approvals",
        title=f"Approvals - {signed.tenant.name}",
        requests=open_,
        done=DONE.get(request.query_params.get("done", "")),
        **{"error": None, "failed": None, "comment": "", **context},
    )


@get("/admin/{tenant:str}/approvals", include_in_schema=False)
async def approvals_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """The open approval requests this person may decide."""
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    return await _page(request, signed)


async def _decide(
    request: Request[Any, Any, Any], tenant: str, request_id: str, verb: str
) -> Response[str]:
    checked = await checked_form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    service = service_of(request)
    comment = form.get("comment", "")[:4096]
    actor = guests.actor_of(
        signed.person, tenant_name=signed.tenant.name, request_id=request_id_var.get()
    )
    try:
        found = await service.get(signed.tenant.id, request_id)
        service.check_approver(found, admin=_admin(signed.person), user_id=signed.person.user.id)
        if verb == "approve":
            await service.approve(actor, found.id, comment, shape=invitation_shape)
        else:
            await service.decline(actor, found.id, comment)
    except ValidationError as exc:
        return await _page(
            request, signed, 400, error=exc.message, failed=request_id, comment=comment
        )
    except GuestgateError as exc:
        return refusal(signed, exc)
    return see_other(f"/admin/{signed.tenant.id}/approvals?done={verb}d")


@post(
    "/admin/{tenant:str}/approvals/{request_id:str}/approve",
    include_in_schema=False,
    status_code=303,
)
async def approve(request: Request[Any, Any, Any], tenant: str, request_id: str) -> Response[str]:
    """Approve: the invitation is made and mailed; audited with the person as actor."""
    return await _decide(request, tenant, request_id, "approve")


@post(
    "/admin/{tenant:str}/approvals/{request_id:str}/decline",
    include_in_schema=False,
    status_code=303,
)
async def decline(request: Request[Any, Any, Any], tenant: str, request_id: str) -> Response[str]:
    """Decline with a comment; the requester is told."""
    return await _decide(request, tenant, request_id, "decline")


ROUTES = [approvals_page, approve, decline]
