"""Invitations in graph mode: Microsoft Graph is the directory; guestgate adds governance.

Graph creates the guest, sends the invitation email and runs redemption. guestgate validates
the request first, keeps Graph under its per-tenant limit, never re-sends a create whose
outcome is unknown without looking, and records audit events and requester notifications in
its own database under the real tenant id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from guestgate.adapters.graph import GraphClient, InvitationLimiter, UnknownOutcome
from guestgate.domain import messages
from guestgate.domain.invitations import COMPLETED, PENDING, InviteRequest
from guestgate.domain.timestamps import iso
from guestgate.errors import Conflict, UpstreamError
from guestgate.services import outbox
from guestgate.services.invitations import Actor
from guestgate.services.ports import Sealer, UnitOfWork

DEFAULT_REDIRECT = "https://myapplications.microsoft.com"


@dataclass(frozen=True, slots=True)
class GraphCall:
    """What a graph-mode call needs: the client, the limiter and the token to send."""

    client: GraphClient
    limiter: InvitationLimiter
    token: str


def _payload(request: InviteRequest, send: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "invitedUserEmailAddress": request.email.address,
        "inviteRedirectUrl": request.redirect_url or DEFAULT_REDIRECT,
        "sendInvitationMessage": send,
    }
    if request.display_name:
        payload["invitedUserDisplayName"] = request.display_name
    if request.message_info is not None:
        payload["invitedUserMessageInfo"] = request.message_info.to_json()
    return payload


async def _find_user_by_mail(call: GraphCall, address: str) -> str | None:
    quoted = address.replace("'", "''")
    answer = await call.client.call(
        "GET",
        "/v1.0/users",
        token=call.token,
        params={"$filter": f"mail eq '{quoted}'", "$select": "id"},
    )
    found = (answer or {}).get("value") or []
    return str(found[0]["id"]) if found else None


async def _create(call: GraphCall, tenant_id: str, request: InviteRequest) -> dict[str, Any]:
    await call.limiter.acquire(tenant_id)
    payload = _payload(request, request.send_message)
    try:
        return dict(
            await call.client.call(
                "POST", "/v1.0/invitations", token=call.token, json=payload, safe_to_repeat=False
            )
        )
    except UnknownOutcome:
        pass
    # The create may have landed. Look before sending it again: if the guest exists, ask for
    # a fresh redeem link without a second email; if not, the first request never arrived.
    if await _find_user_by_mail(call, request.email.address) is not None:
        payload["sendInvitationMessage"] = False
    await call.limiter.acquire(tenant_id)
    try:
        return dict(
            await call.client.call(
                "POST", "/v1.0/invitations", token=call.token, json=payload, safe_to_repeat=False
            )
        )
    except UnknownOutcome:
        raise UpstreamError(
            "Microsoft Graph did not answer; the invitation may exist. Retry: re-inviting is safe.",
            status=504,
            code="GraphTimeout",
        ) from None


async def invite(
    call: GraphCall,
    uow: UnitOfWork,
    *,
    actor: Actor,
    tenant_name: str | None,
    request: InviteRequest,
    sealer: Sealer,
    now: datetime,
) -> dict[str, Any]:
    """Invite through Graph; the answer in the GT365 shape."""
    created = await _create(call, actor.tenant_id, request)
    user = created.get("invitedUser") or {}
    answer: dict[str, Any] = {
        "id": str(user.get("id", "")),
        "invitedUserEmailAddress": str(
            created.get("invitedUserEmailAddress", request.email.address)
        ),
        "inviteRedeemUrl": str(created.get("inviteRedeemUrl", "")),
        "status": str(created.get("status", PENDING)),
        "sendInvitationMessage": request.send_message,
        "invitedUserDisplayName": str(
            created.get("invitedUserDisplayName")
            or request.display_name
            or request.email.address.split("@")[0]
        ),
        "inviteRedirectUrl": str(
            created.get("inviteRedirectUrl", request.redirect_url or DEFAULT_REDIRECT)
        ),
        "invitedUserType": str(created.get("invitedUserType", "Guest")),
        "invitedUser": {"id": str(user.get("id", ""))},
        "invitationId": str(created.get("id", "")),
        "expiresDateTime": None,
        "requestedBy": None if request.requested_by is None else request.requested_by.address,
        "more": request.more,
    }
    async with uow:
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            actor=answer["requestedBy"],
            action="invitation.create",
            target=answer["id"],
            request_id=actor.request_id,
            created_at=iso(now),
            details={
                "invitationId": answer["invitationId"],
                "email": request.email.ascii_address,
                "more": request.more,
                "directory": "graph",
            },
        )
        if request.requested_by is not None:
            await outbox.enqueue(
                uow,
                sealer=sealer,
                tenant_id=actor.tenant_id,
                kind=messages.REQUESTER_NOTIFICATION,
                recipient=request.requested_by.address,
                payload={
                    "to": request.requested_by.address,
                    "org": tenant_name or "your organization",
                    "guest": request.email.address,
                    "language": None,
                },
                now=now,
            )
        await uow.commit()
    return answer


async def _guest(call: GraphCall, user_id: str) -> dict[str, Any]:
    return dict(
        await call.client.call(
            "GET",
            f"/v1.0/users/{user_id}",
            token=call.token,
            params={"$select": "id,mail,displayName,userType,externalUserState,createdDateTime"},
        )
    )


async def get(call: GraphCall, *, user_id: str) -> dict[str, Any]:
    """A guest from Graph, as an invitation."""
    return _view(await _guest(call, user_id))


async def resend(
    call: GraphCall,
    uow: UnitOfWork,
    *,
    actor: Actor,
    user_id: str,
    redirect_url: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Invite the guest again with an email; only while the guest has not accepted."""
    guest = await _guest(call, user_id)
    if guest.get("externalUserState") == "Accepted":
        raise Conflict(
            "Only pending invitations can be resent; this guest accepted.",
            code="InvitationNotPending",
        )
    await call.limiter.acquire(actor.tenant_id)
    created = await call.client.call(
        "POST",
        "/v1.0/invitations",
        token=call.token,
        json={
            "invitedUserEmailAddress": guest["mail"],
            "inviteRedirectUrl": redirect_url or DEFAULT_REDIRECT,
            "sendInvitationMessage": True,
        },
        safe_to_repeat=False,
    )
    async with uow:
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            action="invitation.resend",
            target=user_id,
            request_id=actor.request_id,
            created_at=iso(now),
            details={"directory": "graph"},
        )
        await uow.commit()
    return _view(guest) | {"inviteRedeemUrl": str(created.get("inviteRedeemUrl", ""))}


async def revoke(
    call: GraphCall, uow: UnitOfWork, *, actor: Actor, user_id: str, now: datetime
) -> dict[str, Any]:
    """Revoking in graph mode deletes the guest user: the redeem link stops working."""
    guest = await _guest(call, user_id)
    if guest.get("userType") != "Guest":
        raise Conflict("Only guests can be revoked.", code="NotAGuest")
    await call.client.call("DELETE", f"/v1.0/users/{user_id}", token=call.token)
    async with uow:
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            action="invitation.revoke",
            target=user_id,
            request_id=actor.request_id,
            created_at=iso(now),
            details={"directory": "graph"},
        )
        await uow.commit()
    return _view(guest) | {"status": "Revoked"}


def _view(guest: dict[str, Any]) -> dict[str, Any]:
    accepted = guest.get("externalUserState") == "Accepted"
    return {
        "id": str(guest.get("id")),
        "invitedUser": {"id": str(guest.get("id"))},
        "invitedUserEmailAddress": str(guest.get("mail") or ""),
        "status": COMPLETED if accepted else PENDING,
        "inviteRedirectUrl": "",
        "sendInvitationMessage": False,
        "requestedBy": None,
        "more": {},
        "invitedUserMessageInfo": None,
        "createdByAppId": None,
        "createdDateTime": str(guest.get("createdDateTime") or ""),
        "expiresDateTime": None,
        "completedDateTime": None,
        "revokedDateTime": None,
    }


async def list_guests(
    call: GraphCall, *, status: str | None, email: str | None, top: int, skiptoken: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Guests from Graph's users query, as invitations; the next page's Graph skiptoken."""
    clauses = ["userType eq 'Guest'"]
    if status == PENDING:
        clauses.append("externalUserState eq 'PendingAcceptance'")
    elif status == COMPLETED:
        clauses.append("externalUserState eq 'Accepted'")
    if email is not None:
        clauses.append("mail eq '{}'".format(email.replace("'", "''")))
    params = {
        "$filter": " and ".join(clauses),
        "$select": "id,mail,displayName,userType,externalUserState,createdDateTime",
        "$top": str(top),
    }
    if skiptoken is not None:
        params["$skiptoken"] = skiptoken
    answer = await call.client.call("GET", "/v1.0/users", token=call.token, params=params) or {}
    next_link = answer.get("@odata.nextLink")
    token = None
    if isinstance(next_link, str):
        found = parse_qs(urlsplit(next_link).query).get("$skiptoken")
        token = found[0] if found else None
    return [_view(g) for g in answer.get("value", [])], token
