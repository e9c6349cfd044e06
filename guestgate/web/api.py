"""The GT365 API: `POST /api/InviteGuest` and the invitation resources around it."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from guestgate.domain.apps import INVITE, READ_USERS
from guestgate.domain.invitations import Invitation, build_invite_request
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import graph_time
from guestgate.domain.users import GUEST
from guestgate.errors import GuestgateError, NotFound, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import invitations
from guestgate.services.invitations import Actor, InviteResult
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.errors import status_of
from guestgate.web.paging import decode_cursor, encode_cursor
from guestgate.web.schemas import (
    BulkAnswer,
    BulkItem,
    ErrorBody,
    ErrorDetail,
    GraphInvitationBody,
    InnerError,
    InvitationPage,
    InvitationView,
    InvitationWithLink,
    InvitedUser,
    InviteGuestAnswer,
    InviteGuestBody,
    InviteGuestsBody,
)

ERRORS = {
    code: ResponseSpec(data_container=ErrorBody, description=text)
    for code, text in (
        (400, "Bad data: the error code names the rule"),
        (401, "Missing, invalid or expired token"),
        (403, "The app lacks the permission"),
        (404, "Unknown id"),
        (409, "The invitation is not in a state that allows this"),
        (413, "Body larger than 64 KiB"),
        (415, "Body is not JSON"),
    )
}


async def authorize_known_query(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: the token and permission (web/auth.py), then the query string: a parameter
    the route does not take is a mistake worth a 400 (a typo in `status` would otherwise
    silently list everything). One guard, since Litestar copies the handler for each."""
    await authorize(connection, handler)
    allowed = handler.opt.get("query", frozenset())
    unknown = sorted(set(connection.query_params.keys()) - allowed)
    if unknown:
        raise ValidationError(
            f"Unknown query parameter '{unknown[0][:40]}'.", code="UnknownQueryParameter"
        )


# What every GT365 route shares; each route still names its permission next to its path.
PROTECTED: dict[str, Any] = {
    "guards": [authorize_known_query],
    "tags": ["GT365"],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}
# Request bodies parsed by web/body.py; /openapi.json documents them from here.
MAX_BULK = 500
MAX_BULK_BYTES = 2 * 1024 * 1024
ACTION_BODY_BYTES = 1024  # resend and revoke take no body; SDKs may still send `{}`
REQUEST_BODIES: dict[tuple[str, str], type] = {
    ("/api/InviteGuest", "post"): InviteGuestBody,
    ("/api/InviteGuests", "post"): InviteGuestsBody,
    ("/v1.0/invitations", "post"): GraphInvitationBody,
}


def _graph_invitations() -> ModuleType:
    """Graph mode's use cases, imported on first use: local mode never loads the Graph stack."""
    from guestgate.services import graph_invitations

    return graph_invitations


def actor_of(request: Request[Any, Any, Any]) -> Actor:
    caller = caller_of(request)
    return Actor(tenant_id=caller.tenant_id, app_id=caller.app_id, request_id=request_id_var.get())


def view(invitation: Invitation, now: Any) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "invitedUser": InvitedUser(id=invitation.user_id),
        "invitedUserEmailAddress": invitation.email,
        "status": invitation.status_at(now),
        "inviteRedirectUrl": invitation.redirect_url,
        "sendInvitationMessage": invitation.send_message,
        "requestedBy": invitation.requested_by,
        "more": invitation.more,
        "invitedUserMessageInfo": invitation.message_info,
        "createdByAppId": invitation.created_by_app,
        "createdDateTime": graph_time(invitation.created_at),
        "expiresDateTime": graph_time(invitation.expires_at),
        "completedDateTime": graph_time(invitation.completed_at),
        "revokedDateTime": graph_time(invitation.revoked_at),
    }


def invite_answer(result: InviteResult) -> InviteGuestAnswer:
    invitation = result.invitation
    return InviteGuestAnswer(
        id=result.user.id,
        invitedUserEmailAddress=invitation.email,
        inviteRedeemUrl=result.redeem_url,
        status=result.status,
        sendInvitationMessage=invitation.send_message,
        invitedUserDisplayName=result.user.display_name,
        inviteRedirectUrl=invitation.redirect_url,
        invitedUserType=GUEST,
        invitedUser=InvitedUser(id=result.user.id),
        invitationId=invitation.id,
        expiresDateTime=graph_time(invitation.expires_at),
        requestedBy=invitation.requested_by,
        more=invitation.more,
    )


@post(
    "/api/InviteGuest",
    opt={"permission": INVITE},
    status_code=201,
    **PROTECTED,
)
async def invite_guest(request: Request[Any, Any, Any]) -> InviteGuestAnswer:
    """Invite an external address as a guest; answers 201 with the redeem link."""
    body = parse_json(await request.body(), request.headers.get("content-type"), InviteGuestBody)
    return await _invite_one(request, body)


async def _invite_one(request: Request[Any, Any, Any], body: InviteGuestBody) -> InviteGuestAnswer:
    runtime = runtime_of(request)
    info = body.invitedUserMessageInfo
    invite = build_invite_request(
        email=body.invitedUserEmailAddress,
        redirect_url=body.inviteRedirectUrl,
        send_message=body.sendInvitationMessage,
        display_name=body.invitedUserDisplayName,
        requested_by=body.requestedBy,
        more=body.more,
        message_body=None if info is None else info.customizedMessageBody,
        message_language=None if info is None else info.messageLanguage,
        cc=None
        if info is None or info.ccRecipients is None
        else [(r.emailAddress.name, r.emailAddress.address) for r in info.ccRecipients],
    )
    if runtime.graph is not None:
        answer = await _graph_invitations().invite(
            await runtime.graph.call(request.state.bearer),
            runtime.uow(),
            actor=actor_of(request),
            tenant_name=caller_of(request).tenant_name,
            request=invite,
            sealer=runtime.sealer,
            now=runtime.now(),
        )
        runtime.worker.wake()
        return InviteGuestAnswer(**{**answer, "invitedUser": InvitedUser(**answer["invitedUser"])})
    result = await invitations.invite_guest(
        runtime.uow(),
        actor=actor_of(request),
        request=invite,
        public_url=runtime.settings.public_url,
        now=runtime.now(),
        sealer=runtime.sealer,
    )
    if invite.send_message or invite.requested_by is not None:
        runtime.worker.wake()
    return invite_answer(result)


@post(
    "/api/InviteGuests",
    opt={"permission": INVITE},
    status_code=200,
    request_max_body_size=MAX_BULK_BYTES,
    **PROTECTED,
)
async def invite_guests(request: Request[Any, Any, Any]) -> BulkAnswer:
    """Invite up to 500 guests in one call; each is done on its own and reported by index."""
    body = parse_json(await request.body(), request.headers.get("content-type"), InviteGuestsBody)
    if not 1 <= len(body.invitations) <= MAX_BULK:
        raise ValidationError(f"invitations takes 1 to {MAX_BULK} entries.", code="InvalidBulkSize")
    results: list[BulkItem] = []
    for index, item in enumerate(body.invitations):
        try:
            answer = await _invite_one(request, item)
        except GuestgateError as exc:
            status = status_of(exc)
            detail = ErrorDetail(
                code=exc.code,
                message=exc.message,
                innerError=InnerError(
                    request_id=request_id_var.get() or "",
                    date=runtime_of(request).now().strftime("%Y-%m-%dT%H:%M:%S"),
                ),
            )
            results.append(BulkItem(index=index, status=status, error=detail))
            continue
        results.append(BulkItem(index=index, status=201, invitation=answer))
    succeeded = sum(1 for r in results if r.status == 201)
    return BulkAnswer(value=results, succeeded=succeeded, failed=len(results) - succeeded)


@get(
    "/api/invitations",
    opt={"permission": READ_USERS, "query": frozenset({"status", "email", "top", "skiptoken"})},
    **PROTECTED,
)
async def list_invitations(
    request: Request[Any, Any, Any],
    status: Literal["PendingAcceptance", "Completed", "Revoked", "Expired"] | None = None,
    email: Annotated[str | None, Parameter(max_length=254)] = None,
    top: Annotated[int, Parameter(ge=1, le=999)] = 100,
    skiptoken: Annotated[str | None, Parameter(max_length=512)] = None,
) -> InvitationPage:
    """The tenant's invitations, newest first; follow `next` for the following page."""
    runtime = runtime_of(request)
    caller = caller_of(request)
    if runtime.graph is not None:
        if status in ("Revoked", "Expired"):
            return InvitationPage(value=[])  # Graph keeps neither: revoked guests are deleted
        found_views, token = await _graph_invitations().list_guests(
            await runtime.graph.call(request.state.bearer),
            status=status,
            email=email,
            top=top,
            skiptoken=skiptoken,
        )
        page = InvitationPage(value=[_invitation_view(v) for v in found_views])
        if token is not None:
            query = {"top": top, "skiptoken": token}
            query |= {k: v for k, v in (("status", status), ("email", email)) if v is not None}
            page.next = f"{runtime.settings.public_url}/api/invitations?{urlencode(query)}"
        return page
    scope = f"invitations|{caller.tenant_id}|{status}|{email}"
    after = None if skiptoken is None else decode_cursor(runtime.cursor_key, scope, skiptoken)
    now = runtime.now()
    found = await invitations.list_invitations(
        runtime.uow(write=False),
        tenant_id=caller.tenant_id,
        now=now,
        status=status,
        email=email,
        after=after,
        limit=top + 1,
    )
    page = InvitationPage(value=[InvitationView(**view(i, now)) for i in found[:top]])
    if len(found) > top:
        last = found[top - 1]
        query = {
            "top": top,
            "skiptoken": encode_cursor(runtime.cursor_key, scope, (last.created_at, last.id)),
        }
        query |= {k: v for k, v in (("status", status), ("email", email)) if v is not None}
        page.next = f"{runtime.settings.public_url}/api/invitations?{urlencode(query)}"
    return page


def _invitation_view(view: dict[str, Any]) -> InvitationView:
    return InvitationView(**{**view, "invitedUser": InvitedUser(**view["invitedUser"])})


def _invitation_id(value: str) -> str:
    if not is_guid(value):
        raise NotFound(f"There is no invitation {value[:64]}.", code="InvitationNotFound")
    return value.lower()


@get(
    "/api/invitations/{invitation_id:str}",
    opt={"permission": READ_USERS},
    **PROTECTED,
)
async def get_invitation(request: Request[Any, Any, Any], invitation_id: str) -> InvitationView:
    """One invitation of the caller's tenant."""
    runtime = runtime_of(request)
    if runtime.graph is not None:
        return _invitation_view(
            await _graph_invitations().get(
                await runtime.graph.call(request.state.bearer),
                user_id=_invitation_id(invitation_id),
            )
        )
    found = await invitations.get_invitation(
        runtime.uow(write=False),
        tenant_id=caller_of(request).tenant_id,
        invitation_id=_invitation_id(invitation_id),
    )
    return InvitationView(**view(found, runtime.now()))


@post(
    "/api/invitations/{invitation_id:str}/resend",
    opt={"permission": INVITE},
    request_max_body_size=ACTION_BODY_BYTES,
    status_code=200,
    **PROTECTED,
)
async def resend_invitation(
    request: Request[Any, Any, Any], invitation_id: str
) -> InvitationWithLink:
    """A new redeem link for a pending invitation; the previous link stops working."""
    await request.body()  # takes no body; reading it enforces the size limit
    runtime = runtime_of(request)
    if runtime.graph is not None:
        # Graph keeps no invitations: the id is the guest user's.
        resent = await _graph_invitations().resend(
            await runtime.graph.call(request.state.bearer),
            runtime.uow(),
            actor=actor_of(request),
            user_id=_invitation_id(invitation_id),
            redirect_url=None,
            now=runtime.now(),
        )
        return InvitationWithLink(**{**resent, "invitedUser": InvitedUser(**resent["invitedUser"])})
    result = await invitations.resend_invitation(
        runtime.uow(),
        actor=actor_of(request),
        invitation_id=_invitation_id(invitation_id),
        public_url=runtime.settings.public_url,
        now=runtime.now(),
        sealer=runtime.sealer,
    )
    runtime.worker.wake()
    return InvitationWithLink(
        **view(result.invitation, runtime.now()), inviteRedeemUrl=result.redeem_url
    )


@post(
    "/api/invitations/{invitation_id:str}/revoke",
    opt={"permission": INVITE},
    request_max_body_size=ACTION_BODY_BYTES,
    status_code=200,
    **PROTECTED,
)
async def revoke_invitation(request: Request[Any, Any, Any], invitation_id: str) -> InvitationView:
    """Revoke a pending invitation: its link stops working."""
    await request.body()  # takes no body; reading it enforces the size limit
    runtime = runtime_of(request)
    if runtime.graph is not None:
        gone = await _graph_invitations().revoke(
            await runtime.graph.call(request.state.bearer),
            runtime.uow(),
            actor=actor_of(request),
            user_id=_invitation_id(invitation_id),
            now=runtime.now(),
        )
        return _invitation_view(gone)
    revoked = await invitations.revoke_invitation(
        runtime.uow(),
        actor=actor_of(request),
        invitation_id=_invitation_id(invitation_id),
        now=runtime.now(),
    )
    return InvitationView(**view(revoked, runtime.now()))


ROUTES = [
    invite_guest,
    invite_guests,
    list_invitations,
    get_invitation,
    resend_invitation,
    revoke_invitation,
]
