"""The answers and bodies /openapi.json states for the Graph surface's accountEnabled, sponsors
and deleted items (web/graph_users.py, local mode), beside `openapi_facts.ROUTE_ERRORS`;
tests/e2e/test_openapi.py provokes each of them."""

from __future__ import annotations

from typing import Any

from guestgate.domain.apps import READ_USERS, READWRITE_USERS
from guestgate.web.openapi_facts import (
    EXAMPLE_ID,
    NO_TOKEN,
    NO_USER,
    NOT_JSON,
    TOO_LARGE,
    Answer,
    bad,
    denied,
)
from guestgate.web.openapi_lifecycle import (
    BOOL,
    NO_BODY,
    STAMP,
    STR,
    TYPE,
    collection,
    json_content,
    set_answer,
)

USER = "/v1.0/users/{user_ref}"
SPONSORS = f"{USER}/sponsors"
DELETED = "/v1.0/directory/deletedItems"
DELETED_ITEM = f"{DELETED}/{{item_id}}"
BAD_ID = bad("Request_BadRequest", "Invalid object identifier 'not-a-guid'.")
BAD_SELECT = bad(
    "Request_BadRequest",
    "Could not find a property named 'manager' on type 'microsoft.graph.user'.",
)


def _users(permission: str, more: dict[int, Answer]) -> dict[int, Answer]:
    return {401: NO_TOKEN, 403: denied(permission), **more}


USER_ERRORS: dict[tuple[str, str], dict[int, Answer]] = {
    (USER, "patch"): _users(
        READWRITE_USERS,
        {
            400: bad(
                "Request_BadRequest",
                "Property 'mail' cannot be updated here; only accountEnabled and displayName can.",
            ),
            404: NO_USER,
            413: TOO_LARGE,
            415: NOT_JSON,
        },
    ),
    (SPONSORS, "get"): _users(READ_USERS, {400: BAD_SELECT, 404: NO_USER}),
    (f"{SPONSORS}/$ref", "post"): _users(
        READWRITE_USERS,
        {
            400: bad(
                "Request_BadRequest",
                "The @odata.id must name a user: https://graph.microsoft.com/v1.0/users/{id}.",
            ),
            404: NO_USER,
            413: TOO_LARGE,
            415: NOT_JSON,
        },
    ),
    (f"{SPONSORS}/{{sponsor_id}}/$ref", "delete"): _users(
        READWRITE_USERS,
        {400: bad("Request_BadRequest", "Invalid sponsor identifier 'x'."), 404: NO_USER},
    ),
    (f"{DELETED}/microsoft.graph.user", "get"): _users(
        READ_USERS, {400: bad("Request_BadRequest", "$top must be a number from 1 to 999.")}
    ),
    (DELETED_ITEM, "get"): _users(READ_USERS, {400: BAD_ID, 404: NO_USER}),
    (DELETED_ITEM, "delete"): _users(READWRITE_USERS, {400: BAD_ID, 404: NO_USER}),
    (f"{DELETED_ITEM}/restore", "post"): _users(
        READWRITE_USERS,
        {
            400: bad(
                "Request_BadRequest",
                "Another object with the same value for property userPrincipalName or mail"
                " already exists; delete or rename it before restoring this user.",
            ),
            404: NO_USER,
        },
    ),
}
_USER_OBJECT: dict[str, Any] = {
    "type": "object",
    "description": "A directoryObject: a user with @odata.type #microsoft.graph.user",
    "properties": {"@odata.type": TYPE, "id": STR, "displayName": STR, "mail": STR},
}
_DELETED_USER = {
    "type": "object",
    "properties": {
        **_USER_OBJECT["properties"],
        "deletedDateTime": STAMP,
    },
}
_SELECT = {
    "name": "$select",
    "in": "query",
    "required": False,
    "description": "Properties to return, comma-separated.",
    "schema": STR,
    "example": "id,displayName,mail",
}
_PAGING = [
    {
        "name": "$top",
        "in": "query",
        "required": False,
        "description": "Page size.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 999},
        "example": 100,
    },
    {
        "name": "$skiptoken",
        "in": "query",
        "required": False,
        "description": "The next page, as given in @odata.nextLink.",
        "schema": STR,
        "example": "eyJ2IjoxfQ",
    },
]


def document(paths: dict[str, Any]) -> None:
    """Request bodies, success schemas and query options of these routes, in place."""
    if USER not in paths:  # local mode only
        return
    paths[USER]["patch"]["requestBody"] = {
        "required": True,
        "content": json_content(
            {
                "type": "object",
                "properties": {
                    "accountEnabled": BOOL,
                    "displayName": {"type": "string", "maxLength": 256},
                },
                "additionalProperties": False,
            },
            {"accountEnabled": False},
        ),
    }
    sponsors = paths[SPONSORS]["get"]
    set_answer(sponsors, "200", collection(_USER_OBJECT))
    sponsors["parameters"] = [*sponsors.get("parameters", []), _SELECT]
    paths[f"{SPONSORS}/$ref"]["post"]["requestBody"] = {
        "required": True,
        "content": json_content(
            {"type": "object", "properties": {"@odata.id": STR}, "required": ["@odata.id"]},
            {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{EXAMPLE_ID}"},
        ),
    }
    listed = paths[f"{DELETED}/microsoft.graph.user"]["get"]
    set_answer(listed, "200", collection(_DELETED_USER))
    listed["parameters"] = [*listed.get("parameters", []), _SELECT, *_PAGING]
    one = paths[DELETED_ITEM]["get"]
    set_answer(one, "200", _DELETED_USER)
    one["parameters"] = [*one.get("parameters", []), _SELECT]
    restore = paths[f"{DELETED_ITEM}/restore"]["post"]
    restore["requestBody"] = NO_BODY
    set_answer(restore, "200", _DELETED_USER)
