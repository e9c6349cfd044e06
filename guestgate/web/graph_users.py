"""The Graph-compatible surface's user writes and deleted items (local mode), as Graph has them:
`PATCH /v1.0/users/{id}` (accountEnabled, displayName), `/v1.0/users/{id}/sponsors`, and
`/v1.0/directory/deletedItems`. Errors are Graph's (`Request_BadRequest`,
`Request_ResourceNotFound`); reads need User.Read.All, writes User.ReadWrite.All.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, Response
from litestar.params import Parameter

from guestgate.domain.apps import READ_USERS, READWRITE_USERS
from guestgate.domain.paging import decode_cursor, encode_cursor
from guestgate.domain.timestamps import graph_time
from guestgate.domain.users import DeletedUser, User
from guestgate.errors import ValidationError
from guestgate.services import users
from guestgate.services.user_admin import check_display_name
from guestgate.web.api import actor_of
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.graph import GRAPH_ROUTE, _query_options, _select, _shape
from guestgate.web.routes import delete, get, patch, post

REF = Annotated[str, Parameter(max_length=400)]
# What `@odata.id` may name: a user (or directory object) by id, on Graph or on this server.
_ODATA_ID = re.compile(
    r"^(?:https://[^/\s]+/(?:v1\.0|beta)/)?(?:users|directoryObjects)/"
    r"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)
WRITABLE = frozenset({"accountEnabled", "displayName"})
USER_TYPE = "#microsoft.graph.user"


def _context(request: Request[Any, Any, Any], what: str) -> str:
    return f"{runtime_of(request).settings.http.public_url}/v1.0/$metadata#{what}"


@patch(
    "/v1.0/users/{user_ref:str}",
    opt={"permission": READWRITE_USERS},
    status_code=204,
    **GRAPH_ROUTE,
)
async def update_user(request: Request[Any, Any, Any], user_ref: REF) -> None:
    """Update a user: `accountEnabled` false disables it (no redemption, no sign-in), true
    enables it again; `displayName` renames it (audited as user.update)."""
    body = parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])
    for name in body:
        if name not in WRITABLE:
            raise ValidationError(
                f"Property '{name[:80]}' cannot be updated here; only accountEnabled and"
                " displayName can.",
                code="Request_BadRequest",
            )
    enabled = body.get("accountEnabled")
    if "accountEnabled" in body and not isinstance(enabled, bool):
        raise ValidationError(
            "Invalid value specified for property 'accountEnabled' of resource 'User':"
            " it takes true or false.",
            code="Request_BadRequest",
        )
    display_name = body.get("displayName")
    if "displayName" in body:
        if not isinstance(display_name, str):
            raise ValidationError(
                "Invalid value specified for property 'displayName' of resource 'User':"
                " it takes a string.",
                code="Request_BadRequest",
            )
        try:
            check_display_name(display_name)  # both checked before either is changed
        except ValidationError as exc:
            raise ValidationError(exc.message, code="Request_BadRequest") from None
    admin = runtime_of(request).user_admin
    if not body:  # nothing to change, but the user must exist
        await users.get_user(
            runtime_of(request).uow(write=False),
            tenant_id=caller_of(request).tenant_id,
            ref=user_ref,
        )
        return
    if isinstance(display_name, str):
        await admin.set_display_name(actor_of(request), user_ref, display_name)
    if isinstance(enabled, bool):
        await admin.set_account_enabled(actor_of(request), user_ref, enabled)


def _directory_object(user: User, selected: tuple[str, ...]) -> dict[str, Any]:
    return {"@odata.type": USER_TYPE} | _shape(user, selected)


@get("/v1.0/users/{user_ref:str}/sponsors", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def list_sponsors(request: Request[Any, Any, Any], user_ref: REF) -> dict[str, Any]:
    """The user's sponsors, as a directoryObject collection."""
    selected = _select(_query_options(request).get("$select"))
    found = await runtime_of(request).user_admin.sponsors(actor_of(request), user_ref)
    return {
        "@odata.context": _context(request, "directoryObjects"),
        "value": [_directory_object(u, selected) for u in found],
    }


@post(
    "/v1.0/users/{user_ref:str}/sponsors/$ref",
    opt={"permission": READWRITE_USERS},
    status_code=204,
    **GRAPH_ROUTE,
)
async def add_sponsor(request: Request[Any, Any, Any], user_ref: REF) -> None:
    """Add a sponsor, named by `@odata.id` (…/users/{id}); at most five."""
    body = parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])
    named = body.get("@odata.id")
    match = _ODATA_ID.match(named) if isinstance(named, str) else None
    if match is None:
        raise ValidationError(
            "The @odata.id must name a user: https://graph.microsoft.com/v1.0/users/{id}.",
            code="Request_BadRequest",
        )
    await runtime_of(request).user_admin.add_sponsor(actor_of(request), user_ref, match[1])


@delete(
    "/v1.0/users/{user_ref:str}/sponsors/{sponsor_id:str}/$ref",
    opt={"permission": READWRITE_USERS},
    **GRAPH_ROUTE,
)
async def remove_sponsor(
    request: Request[Any, Any, Any],
    user_ref: REF,
    sponsor_id: Annotated[str, Parameter(max_length=64)],
) -> None:
    """Remove one sponsor (the sponsor's own object stays)."""
    await runtime_of(request).user_admin.remove_sponsor(actor_of(request), user_ref, sponsor_id)


def _deleted(found: DeletedUser, selected: tuple[str, ...]) -> dict[str, Any]:
    return _directory_object(found.user, selected) | {
        "deletedDateTime": graph_time(found.deleted_at)
    }


@get(
    "/v1.0/directory/deletedItems/microsoft.graph.user",
    opt={"permission": READ_USERS},
    **GRAPH_ROUTE,
)
async def list_deleted(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Deleted users, newest first, kept 30 days; `$top` and `$skiptoken` page them."""
    runtime = runtime_of(request)
    options = _query_options(request)
    selected = _select(options.get("$select"))
    top = 100
    if "$top" in options:
        text = options["$top"]
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 999:
            raise ValidationError("$top must be a number from 1 to 999.", code="Request_BadRequest")
        top = int(text)
    scope = f"deletedUsers|{caller_of(request).tenant_id}"
    after = None
    if "$skiptoken" in options:
        after = decode_cursor(runtime.cursor_key, scope, options["$skiptoken"])
    found = await runtime.user_admin.deleted(actor_of(request), after=after, top=top)
    body: dict[str, Any] = {
        "@odata.context": _context(request, "directory/deletedItems/microsoft.graph.user"),
        "value": [_deleted(d, selected) for d in found[:top]],
    }
    if len(found) > top:
        last = found[top - 1]
        following = {k: v for k, v in options.items() if k != "$skiptoken"}
        following["$skiptoken"] = encode_cursor(
            runtime.cursor_key, scope, (last.deleted_at, last.user.id)
        )
        body["@odata.nextLink"] = (
            f"{runtime.settings.http.public_url}/v1.0/directory/deletedItems/microsoft.graph.user?"
            + urlencode(following, quote_via=quote)
        )
    return body


@get("/v1.0/directory/deletedItems/{item_id:str}", opt={"permission": READ_USERS}, **GRAPH_ROUTE)
async def get_deleted(request: Request[Any, Any, Any], item_id: REF) -> dict[str, Any]:
    """One deleted user."""
    selected = _select(_query_options(request).get("$select"))
    found = await runtime_of(request).user_admin.get_deleted(actor_of(request), item_id)
    return {"@odata.context": _context(request, "directoryObjects/$entity")} | _deleted(
        found, selected
    )


@post(
    "/v1.0/directory/deletedItems/{item_id:str}/restore",
    opt={"permission": READWRITE_USERS},
    status_code=200,
    **GRAPH_ROUTE,
)
async def restore_deleted(request: Request[Any, Any, Any], item_id: REF) -> dict[str, Any]:
    """Restore a deleted user with its id, sponsors and state."""
    user = await runtime_of(request).user_admin.restore(actor_of(request), item_id)
    return (
        {"@odata.context": _context(request, "directoryObjects/$entity")}
        | _directory_object(user, _select(None))
        | {"deletedDateTime": None}
    )


@delete(
    "/v1.0/directory/deletedItems/{item_id:str}", opt={"permission": READWRITE_USERS}, **GRAPH_ROUTE
)
async def purge_deleted(request: Request[Any, Any, Any], item_id: REF) -> Response[None]:
    """Delete a deleted user for good."""
    await runtime_of(request).user_admin.purge(actor_of(request), item_id)
    return Response(None, status_code=204)


ROUTES = [
    update_user,
    list_sponsors,
    add_sponsor,
    remove_sponsor,
    list_deleted,
    get_deleted,
    restore_deleted,
    purge_deleted,
]
