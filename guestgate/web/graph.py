"""The Graph-compatible surface (local mode): `/v1.0/...` as Microsoft Graph answers it."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from litestar import Request, Response
from litestar.params import Parameter

from guestgate.domain.apps import INVITE, READ_USERS, READWRITE_USERS
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.odata import UserQuery, parse_filter, parse_orderby, parse_search
from guestgate.domain.paging import decode_cursor, encode_cursor
from guestgate.domain.throttle import Limit
from guestgate.domain.timestamps import graph_time
from guestgate.domain.users import GUEST, User
from guestgate.errors import Throttled, ValidationError
from guestgate.services import tenants, users
from guestgate.web import sign_in_activity
from guestgate.web.api import ERRORS, HELD, actor_of
from guestgate.web.auth import authorize, caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.routes import delete, get, post
from guestgate.web.schemas import GraphInvitationBody

GRAPH_ROUTE: dict[str, Any] = {
    "guards": [authorize],
    "tags": ["Microsoft Graph"],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}
QUERY_OPTIONS = frozenset(
    {"$filter", "$select", "$top", "$count", "$search", "$orderby", "$skiptoken"}
)
DEFAULT_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
ALL_PROPERTIES = frozenset(
    (
        *DEFAULT_SELECT,
        "userType",
        "externalUserState",
        "externalUserStateChangeDateTime",
        "creationType",
        "createdDateTime",
        "otherMails",
        "accountEnabled",
        sign_in_activity.PROPERTY,
    )
)


def user_properties(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": None,
        "jobTitle": None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": None,
        "userPrincipalName": user.user_principal_name,
        "userType": user.user_type,
        "externalUserState": user.external_user_state,
        "externalUserStateChangeDateTime": graph_time(user.external_user_state_changed_at),
        "creationType": user.creation_type,
        "createdDateTime": graph_time(user.created_at),
        "otherMails": [],
        "accountEnabled": user.account_enabled,
    }


def _select(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_SELECT
    chosen = tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    for name in chosen:
        if name not in ALL_PROPERTIES:
            raise ValidationError(
                f"Could not find a property named '{name[:80]}' on type 'microsoft.graph.user'.",
                code="Request_BadRequest",
            )
    return chosen or DEFAULT_SELECT


def _shape(user: User, selected: tuple[str, ...]) -> dict[str, Any]:
    props = user_properties(user)
    return {name: props[name] for name in selected if name in props}


def _query_options(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The OData options, read from the raw query: '+' is a space, as the SDKs send it."""
    try:
        raw = request.scope["query_string"].decode("utf-8")
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("The query string is invalid.", code="Request_BadRequest") from None
    options: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            continue
        if name not in QUERY_OPTIONS:
            raise ValidationError(
                f"Query option '{name[:40]}' is not supported.", code="Request_UnsupportedQuery"
            )
        if name in options:
            raise ValidationError(
                f"Query option '{name}' appears twice.", code="Request_BadRequest"
            )
        options[name] = value
    return options


def _eventual(request: Request[Any, Any, Any], what: str) -> None:
    if request.headers.get("consistencylevel", "").lower() != "eventual":
        raise ValidationError(
            f"{what} requires the header 'ConsistencyLevel: eventual'.",
            code="Request_UnsupportedQuery",
        )


def _user_query(options: dict[str, str], request: Request[Any, Any, Any]) -> UserQuery:
    order, descending = (
        parse_orderby(options["$orderby"]) if "$orderby" in options else ("createdDateTime", False)
    )
    search = None
    if "$search" in options:
        _eventual(request, "$search")
        search = parse_search(options["$search"])
    top = 100
    if "$top" in options:
        text = options["$top"]
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 999:
            raise ValidationError("$top must be a number from 1 to 999.", code="Request_BadRequest")
        top = int(text)
    return UserQuery(
        filter=parse_filter(options["$filter"]) if "$filter" in options else None,
        search=search,
        order_by=order,
        descending=descending,
        top=top,
    )


@get("/v1.0/users", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def list_users(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Users of the tenant with $filter, $select, $top, $count, $search, $orderby, paging."""
    runtime = runtime_of(request)
    caller = caller_of(request)
    options = _query_options(request)
    query = _user_query(options, request)
    selected = _select(options.get("$select"))
    count = options.get("$count", "false").lower()
    if count not in ("true", "false"):
        raise ValidationError("$count must be true or false.", code="Request_BadRequest")
    if count == "true":
        _eventual(request, "$count")
    # A paging token is valid only for the query and tenant that produced it.
    scope = "|".join(
        [
            "users",
            caller.tenant_id,
            *(options.get(k, "") for k in ("$filter", "$search", "$orderby")),
        ]
    )
    if "$skiptoken" in options:
        after = decode_cursor(runtime.cursor_key, scope, options["$skiptoken"])
        query = replace(query, after=after)
    found, total = await users.list_users(
        runtime.uow(write=False),
        tenant_id=caller.tenant_id,
        query=query,
        with_count=count == "true",
    )
    base = runtime.settings.http.public_url
    context = f"{base}/v1.0/$metadata#users"
    if "$select" in options:
        context += f"({','.join(selected)})"
    body: dict[str, Any] = {"@odata.context": context}
    if total is not None:
        body["@odata.count"] = total
    body["value"] = [_shape(u, selected) for u in found[: query.top]]
    await sign_in_activity.attach(request, body["value"], found[: query.top], selected)
    if len(found) > query.top:
        last = found[query.top - 1]
        sort_value = last.display_name if query.order_by == "displayName" else last.created_at
        following = {k: v for k, v in options.items() if k != "$skiptoken"}
        following["$skiptoken"] = encode_cursor(runtime.cursor_key, scope, (sort_value, last.id))
        body["@odata.nextLink"] = f"{base}/v1.0/users?{urlencode(following, quote_via=quote)}"
    return body


@get("/v1.0/users/$count", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def count_users(request: Request[Any, Any, Any]) -> Response[str]:
    """The number of users matching $filter (needs ConsistencyLevel: eventual)."""
    runtime = runtime_of(request)
    _eventual(request, "$count")
    options = _query_options(request)
    query = _user_query(options, request)
    total = await users.count_users(
        runtime.uow(write=False), tenant_id=caller_of(request).tenant_id, query=query
    )
    return Response(str(total), media_type="text/plain")


@get("/v1.0/users/{user_ref:str}", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def get_user(
    request: Request[Any, Any, Any],
    user_ref: Annotated[str, Parameter(max_length=400)],
) -> dict[str, Any]:
    """One user by object id or userPrincipalName."""
    runtime = runtime_of(request)
    options = _query_options(request)
    selected = _select(options.get("$select"))
    user = await users.get_user(
        runtime.uow(write=False), tenant_id=caller_of(request).tenant_id, ref=user_ref
    )
    shaped = _shape(user, selected)
    await sign_in_activity.attach(request, [shaped], [user], selected)
    return {
        "@odata.context": f"{runtime.settings.http.public_url}/v1.0/$metadata#users/$entity"
    } | shaped


@delete("/v1.0/users/{user_ref:str}", opt={"permission": READWRITE_USERS}, **GRAPH_ROUTE)
async def delete_user(
    request: Request[Any, Any, Any],
    user_ref: Annotated[str, Parameter(max_length=400)],
) -> None:
    """Delete an invited user; their invitation links stop working."""
    await runtime_of(request).invitations.delete_user(actor_of(request), user_ref)


async def _graph_invitation_limit(request: Request[Any, Any, Any]) -> None:
    """Standing in for Microsoft Graph (GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S), refuse an
    invitation past Graph's limit per tenant in 5 seconds with 429 and Retry-After, counted
    before it is evaluated, for every process of the deployment together."""
    runtime = runtime_of(request)
    if (per_5s := runtime.settings.limits.graph_invites_per_5s) is None:
        return
    check = (Limit("graph-invitations", per_5s, 5), (caller_of(request).tenant_id,))
    if (wait := await runtime.throttles.take(check)) is not None:
        raise Throttled(
            "Too many invitations for this tenant; retry after the time given.", retry_after=wait
        )


@post(
    "/v1.0/invitations",
    opt={"permission": INVITE},
    status_code=201,
    **(GRAPH_ROUTE | {"responses": HELD}),
)
async def create_invitation(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Microsoft Graph's create invitation, over the same service as /api/InviteGuest."""
    runtime = runtime_of(request)
    await _graph_invitation_limit(request)
    body = parse_json(
        await request.body(), request.headers.get("content-type"), GraphInvitationBody
    )
    if not body.inviteRedirectUrl:
        raise ValidationError("inviteRedirectUrl is required.", code="InvalidRedirectUrl")
    reset_id = None
    if body.resetRedemption:
        if body.invitedUser is None or not body.invitedUser.id:
            raise ValidationError(
                "resetRedemption needs invitedUser.id.", code="InvalidInvitedUser"
            )
        reset_id = body.invitedUser.id
    info = body.invitedUserMessageInfo
    invite = build_invite_request(
        email=body.invitedUserEmailAddress,
        redirect_url=body.inviteRedirectUrl,
        send_message=bool(body.sendInvitationMessage),
        display_name=body.invitedUserDisplayName,
        message_body=None if info is None else info.customizedMessageBody,
        message_language=None if info is None else info.messageLanguage,
        cc=None
        if info is None or info.ccRecipients is None
        else [(r.emailAddress.name, r.emailAddress.address) for r in info.ccRecipients],
        user_type=body.invitedUserType or GUEST,
        reset_user_id=reset_id,
        sponsors=[s.id or "" for s in body.invitedUserSponsors or []],
    )
    view = await runtime.invitations.invite(actor_of(request), invite)
    message_info = (
        {"customizedMessageBody": None, "messageLanguage": None, "ccRecipients": []}
        if view.message_info is None
        else view.message_info.to_json()
    )
    return {
        "@odata.context": f"{runtime.settings.http.public_url}/v1.0/$metadata#invitations/$entity",
        "id": view.id,
        "inviteRedeemUrl": view.redeem_url,
        "invitedUserDisplayName": view.display_name,
        "invitedUserType": view.user_type,
        "invitedUserEmailAddress": view.email,
        "sendInvitationMessage": view.send_message,
        "resetRedemption": bool(body.resetRedemption),
        "inviteRedirectUrl": view.redirect_url,
        "status": view.status,
        "invitedUserMessageInfo": message_info,
        "invitedUser": {"id": view.user_id},
    }


@get("/v1.0/organization", opt={"permission": None}, **GRAPH_ROUTE)
async def organization(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The caller's tenant, as Graph's organization collection."""
    runtime = runtime_of(request)
    caller = caller_of(request)
    tenant = await tenants.get_tenant(runtime.uow(write=False), caller.tenant_id)
    base = runtime.settings.http.public_url
    return {
        "@odata.context": f"{base}/v1.0/$metadata#organization",
        "value": [
            {
                "id": tenant.id,
                "displayName": tenant.name,
                "createdDateTime": graph_time(tenant.created_at),
                "verifiedDomains": [
                    {"name": d, "isDefault": i == 0, "isInitial": i == 0, "type": "Managed"}
                    for i, d in enumerate(tenant.domains)
                ],
            }
        ],
    }


ROUTES = [list_users, count_users, get_user, delete_user, create_invitation, organization]
