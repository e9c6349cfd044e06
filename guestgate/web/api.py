"""The GT365 API: `POST /api/InviteGuest` and the invitation resources around it."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from guestgate.domain import views
from guestgate.domain.apps import INVITE, READ_USERS
from guestgate.domain.invitations import InviteRequest, build_invite_request
from guestgate.domain.tenants import is_guid
from guestgate.domain.views import InvitationQuery
from guestgate.errors import GuestgateError, PendingApproval, ValidationError
from guestgate.logs import request_id_var
from guestgate.services.directory import Actor, invitation_not_found
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.body import count_items, parse_json
from guestgate.web.errors import status_of
from guestgate.web.routes import get, post
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
    PendingApprovalAnswer,
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


# The 202 of an invite the policy holds for an approver (web/errors.py writes it).
HELD = {
    **ERRORS,
    202: ResponseSpec(
        data_container=PendingApprovalAnswer,
        description="Held for an approver: nothing was sent (docs/governance.md, Approval)",
    ),
}
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


def actor_of(request: Request[Any, Any, Any]) -> Actor:
    caller = caller_of(request)
    return Actor(
        tenant_id=caller.tenant_id,
        app_id=caller.app_id,
        request_id=request_id_var.get(),
        tenant_name=caller.tenant_name,
        permissions=caller.roles if runtime_of(request).verifier.enforces_roles else None,
        credential=request.state.bearer,
    )


def invitation_answer(view: views.InvitationView) -> InvitationView:
    return InvitationView(
        id=view.id,
        invitedUser=InvitedUser(id=view.user_id),
        invitedUserEmailAddress=view.email,
        status=view.status,
        inviteRedirectUrl=view.redirect_url,
        sendInvitationMessage=view.send_message,
        requestedBy=view.requested_by,
        more=view.more,
        invitedUserMessageInfo=None if view.message_info is None else view.message_info.to_json(),
        createdByAppId=view.created_by_app,
        createdDateTime=view.created_at,
        expiresDateTime=view.expires_at,
        completedDateTime=view.completed_at,
        revokedDateTime=view.revoked_at,
    )


def invite_answer(view: views.InvitationView) -> InviteGuestAnswer:
    return InviteGuestAnswer(
        id=view.user_id,
        invitedUserEmailAddress=view.email,
        inviteRedeemUrl=view.redeem_url or "",
        status=view.status,
        sendInvitationMessage=view.send_message,
        invitedUserDisplayName=view.display_name,
        inviteRedirectUrl=view.redirect_url,
        invitedUserType=view.user_type,
        invitedUser=InvitedUser(id=view.user_id),
        invitationId=view.id,
        expiresDateTime=view.expires_at,
        requestedBy=view.requested_by,
        more=view.more,
    )


def invite_request(body: InviteGuestBody) -> InviteRequest:
    info = body.invitedUserMessageInfo
    return build_invite_request(
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


@post(
    "/api/InviteGuest",
    opt={"permission": INVITE},
    status_code=201,
    **(PROTECTED | {"responses": HELD}),
)
async def invite_guest(request: Request[Any, Any, Any]) -> InviteGuestAnswer:
    """Invite an external address as a guest; answers 201 with the redeem link."""
    body = parse_json(await request.body(), request.headers.get("content-type"), InviteGuestBody)
    view = await runtime_of(request).invitations.invite(actor_of(request), invite_request(body))
    return invite_answer(view)


@post(
    "/api/InviteGuests",
    opt={"permission": INVITE},
    status_code=200,
    request_max_body_size=MAX_BULK_BYTES,
    **PROTECTED,
)
async def invite_guests(request: Request[Any, Any, Any]) -> BulkAnswer:
    """Invite up to 500 guests in one call; each is done on its own and reported by index."""
    raw = await request.body()  # refused with 413 while it is read, past MAX_BULK_BYTES
    # The number of entries is checked before they are parsed: a body of many tiny entries
    # would otherwise cost the event loop a parse of every one of them.
    if (entries := count_items(raw, "invitations")) is not None and not 1 <= entries <= MAX_BULK:
        raise ValidationError(f"invitations takes 1 to {MAX_BULK} entries.", code="InvalidBulkSize")
    body = parse_json(raw, request.headers.get("content-type"), InviteGuestsBody)
    if not 1 <= len(body.invitations) <= MAX_BULK:
        raise ValidationError(f"invitations takes 1 to {MAX_BULK} entries.", code="InvalidBulkSize")
    # An entry without an address breaks the body's schema, as a wrong type does: the whole
    # call is refused and nothing is stored. Checks of the values are answered per entry.
    for index, item in enumerate(body.invitations):
        if item.invitedUserEmailAddress is None:
            raise ValidationError(
                f"invitations[{index}].invitedUserEmailAddress is required.",
                code="InvalidEmailAddress",
            )
    requests: list[InviteRequest | GuestgateError] = []
    for item in body.invitations:
        try:
            requests.append(invite_request(item))
        except GuestgateError as exc:
            requests.append(exc)
    runtime = runtime_of(request)
    outcomes = await runtime.invitations.invite_many(actor_of(request), requests)
    results: list[BulkItem] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, PendingApproval):
            results.append(BulkItem(index=index, status=202, approval=outcome.to_json()))
        elif isinstance(outcome, GuestgateError):
            detail = ErrorDetail(
                code=outcome.code,
                message=outcome.message,
                innerError=InnerError(
                    request_id=request_id_var.get() or "",
                    date=runtime.now().strftime("%Y-%m-%dT%H:%M:%S"),
                ),
            )
            results.append(BulkItem(index=index, status=status_of(outcome), error=detail))
        else:
            results.append(BulkItem(index=index, status=201, invitation=invite_answer(outcome)))
    succeeded = sum(1 for r in results if r.status == 201)
    return BulkAnswer(value=results, succeeded=succeeded, failed=len(results) - succeeded)


@get(
    "/api/invitations",
    opt={"permission": READ_USERS, "query": frozenset({"status", "email", "top", "skiptoken"})},
    **PROTECTED,
)
async def list_invitations(
    request: Request[Any, Any, Any],
    status: Literal["PendingAcceptance", "Completed", "Revoked", "Expired", "Declined"]
    | None = None,
    email: Annotated[str | None, Parameter(max_length=254)] = None,
    top: Annotated[int, Parameter(ge=1, le=999)] = 100,
    skiptoken: Annotated[str | None, Parameter(max_length=512)] = None,
) -> InvitationPage:
    """The tenant's invitations, newest first; follow `next` for the following page."""
    runtime = runtime_of(request)
    query = InvitationQuery(status=status, email=email, top=top, skiptoken=skiptoken)
    found = await runtime.invitations.list(actor_of(request), query)
    page = InvitationPage(value=[invitation_answer(v) for v in found.items])
    if found.next_token is not None:
        following: dict[str, Any] = {"top": top, "skiptoken": found.next_token}
        following |= {k: v for k, v in (("status", status), ("email", email)) if v is not None}
        page.next = f"{runtime.settings.http.public_url}/api/invitations?{urlencode(following)}"
    return page


def _invitation_id(value: str) -> str:
    """An invitation id or the guest's user id: both are GUIDs."""
    if not is_guid(value):
        raise invitation_not_found(value)
    return value.lower()


@get(
    "/api/invitations/{invitation_id:str}",
    opt={"permission": READ_USERS},
    **PROTECTED,
)
async def get_invitation(request: Request[Any, Any, Any], invitation_id: str) -> InvitationView:
    """One invitation of the caller's tenant."""
    view = await runtime_of(request).invitations.get(
        actor_of(request), _invitation_id(invitation_id)
    )
    return invitation_answer(view)


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
    view = await runtime_of(request).invitations.resend(
        actor_of(request), _invitation_id(invitation_id)
    )
    answer = invitation_answer(view)
    return InvitationWithLink(
        **{f: getattr(answer, f) for f in answer.__struct_fields__},
        inviteRedeemUrl=view.redeem_url or "",
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
    view = await runtime_of(request).invitations.revoke(
        actor_of(request), _invitation_id(invitation_id)
    )
    return invitation_answer(view)


ROUTES = [
    invite_guest,
    invite_guests,
    list_invitations,
    get_invitation,
    resend_invitation,
    revoke_invitation,
]
