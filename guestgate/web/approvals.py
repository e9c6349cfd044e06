"""Approval requests over HTTP (docs/governance.md, "Approval").

`GET /api/approvals/{id}` is the status URL of a 202: the app that asked, or an app holding
AuditLog.Read.All, reads the request's state. `POST /api/approvals/{id}/approve` and
`/decline` decide it, for an app holding User.ReadWrite.All (the administrator's permission:
an app that may only invite cannot approve its own requests). Checked here in both modes,
since approval is guestgate's own and no Graph call would check it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from guestgate.domain import approvals as states
from guestgate.domain.approvals import ApprovalRequest
from guestgate.domain.apps import READ_AUDIT, READWRITE_USERS, grants
from guestgate.domain.tenants import is_guid
from guestgate.errors import PermissionDenied
from guestgate.services.approvals import ApprovalService, approval_not_found
from guestgate.web.api import ERRORS, actor_of, invite_answer
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.routes import get, post

BODY_BYTES = 16 * 1024
ROUTE: dict[str, Any] = {
    "guards": [authorize],
    "tags": ["Approvals"],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}


class DecisionBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/approvals/{id}/approve or /decline: the approver's comment (optional)."""

    comment: str | None = None


REQUEST_BODIES: dict[tuple[str, str], type] = {
    ("/api/approvals/{request_id}/approve", "post"): DecisionBody,
    ("/api/approvals/{request_id}/decline", "post"): DecisionBody,
}


def service_of(request: Request[Any, Any, Any]) -> ApprovalService:
    approvals = runtime_of(request).invitations.approvals
    assert approvals is not None
    return approvals


def approval_json(service: ApprovalService, found: ApprovalRequest, now: Any) -> dict[str, Any]:
    """The status URL's answer: a stable shape, the invitation's answer once approved."""
    body: dict[str, Any] = {
        "requestId": found.id,
        "status": found.state(now),
        "statusUrl": service.status_url(found.id),
        "invitedUserEmailAddress": found.email,
        "requestedBy": found.requested_by,
        "createdDateTime": found.created_at,
        "expirationDateTime": found.expires_at,
        "decidedDateTime": found.decided_at,
        "decidedBy": found.decided_by,
        "comment": found.comment,
    }
    if found.state(now) == states.APPROVED:
        body["invitation"] = service.answer(found)
    return body


def _id(value: str) -> str:
    if not is_guid(value):
        raise approval_not_found(value)
    return value.lower()


def _require_decider(request: Request[Any, Any, Any]) -> None:
    if not grants(caller_of(request).roles, READWRITE_USERS):
        raise PermissionDenied(
            "Insufficient privileges to complete the operation: deciding an approval request"
            f" needs {READWRITE_USERS}."
        )


@get("/api/approvals/{request_id:str}", **ROUTE)
async def get_approval(request: Request[Any, Any, Any], request_id: str) -> dict[str, Any]:
    """An approval request's state: PendingApproval, Approved (with the invitation), Declined
    (with the comment) or Expired."""
    caller = caller_of(request)
    service = service_of(request)
    found = await service.get(caller.tenant_id, _id(request_id))
    if found.app_id != (caller.app_id or None) and not grants(caller.roles, READ_AUDIT):
        # Another app's request: as if it did not exist, unless the app reads the audit.
        raise approval_not_found(request_id)
    return approval_json(service, found, runtime_of(request).now())


async def _body(request: Request[Any, Any, Any]) -> DecisionBody:
    raw = await request.body()
    if not raw.strip():
        return DecisionBody()
    return parse_json(raw, request.headers.get("content-type"), DecisionBody)


def invitation_shape(view: Any) -> dict[str, Any]:
    answer: dict[str, Any] = msgspec.to_builtins(invite_answer(view))
    return answer


@post(
    "/api/approvals/{request_id:str}/approve",
    status_code=200,
    request_max_body_size=BODY_BYTES,
    **ROUTE,
)
async def approve(request: Request[Any, Any, Any], request_id: str) -> dict[str, Any]:
    """Approve: the invitation is made and mailed; answers the request, now Approved."""
    _require_decider(request)
    body = await _body(request)
    service = service_of(request)
    found = await service.approve(
        actor_of(request), _id(request_id), body.comment, shape=invitation_shape
    )
    return approval_json(service, found, runtime_of(request).now())


@post(
    "/api/approvals/{request_id:str}/decline",
    status_code=200,
    request_max_body_size=BODY_BYTES,
    **ROUTE,
)
async def decline(request: Request[Any, Any, Any], request_id: str) -> dict[str, Any]:
    """Decline with a comment; the requester is told. Answers the request, now Declined."""
    _require_decider(request)
    body = await _body(request)
    service = service_of(request)
    found = await service.decline(actor_of(request), _id(request_id), body.comment)
    return approval_json(service, found, runtime_of(request).now())


ROUTES = [get_approval, approve, decline]
