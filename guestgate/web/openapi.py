"""The OpenAPI document: what Litestar derives from the routes, completed with what it cannot
see: the bodies routes parse themselves (web/body.py), the OData options the Graph-compatible
routes read from the raw query, and each route's real error answers (web/openapi_facts.py),
with examples of what the service sends."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar

from guestgate.web import (
    api,
    applications,
    approvals,
    events,
    openapi_bulk,
    openapi_lifecycle,
    openapi_reports,
    openapi_users,
    policies,
)
from guestgate.web.openapi_bulk import BULK_ERRORS
from guestgate.web.openapi_events import EVENT_BODIES, EVENT_ERRORS
from guestgate.web.openapi_facts import EXAMPLE_ID, ODATA, ROUTE_ERRORS
from guestgate.web.openapi_lifecycle import LIFECYCLE_ERRORS
from guestgate.web.openapi_reports import REPORT_ERRORS
from guestgate.web.openapi_users import USER_ERRORS

METHODS = ("get", "post", "put", "patch", "delete")
BODYLESS = ("get", "delete")
# Fields a body must carry, though the Struct declares them optional: their absence is a
# 400 naming the field, from the same validation as a bad value.
REQUIRED_FIELDS = {
    "InviteGuestBody": ["invitedUserEmailAddress"],
    "GraphInvitationBody": ["invitedUserEmailAddress", "inviteRedirectUrl"],
}
INVITE_EXAMPLE = {
    "invitedUserEmailAddress": "some.name@somedomain.org",
    "inviteRedirectUrl": "https://google.at",
    "sendInvitationMessage": True,
    "invitedUserDisplayName": "Some Name",
    "requestedBy": "adele.vance@contoso.example",
}
BODY_EXAMPLES: dict[tuple[str, str], Any] = {
    ("/api/InviteGuest", "post"): INVITE_EXAMPLE,
    ("/api/InviteGuests", "post"): {
        "invitations": [
            INVITE_EXAMPLE,
            {"invitedUserEmailAddress": "other.name@partner.example", "requestedBy": None},
        ]
    },
    ("/v1.0/invitations", "post"): {
        "invitedUserEmailAddress": "some.name@somedomain.org",
        "inviteRedirectUrl": "https://myapp.contoso.example",
        "sendInvitationMessage": True,
    },
}
BLOCK_LIST = (
    '{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":'
    '{"BlockedDomains":["gmail.com","*.example.org"]}}}'
)
BODY_EXAMPLES |= {
    ("/api/policies/invitations", "patch"): {"definition": [BLOCK_LIST]},
    **{
        (path, "patch"): {"allowInvitesFrom": "adminsGuestInvitersAndAllMembers"}
        for path in ("/api/policies/authorizationPolicy", "/v1.0/policies/authorizationPolicy")
    },
}
INVITE_ANSWER = {
    "id": "2794ae53-0b5f-4c73-8198-5502fac6d1d8",
    "invitedUserEmailAddress": "some.name@somedomain.org",
    "inviteRedeemUrl": "https://guestgate.contoso.example/redeem/?tenant=5c0e2d4a-31b6-4f0e-9a57"
    "-0c1d2e3f4a5b&id=2794ae53-0b5f-4c73-8198-5502fac6d1d8&ticket=Qm9vay1hLXRpY2tldC1oZXJl&ver=2.0",
    "status": "PendingAcceptance",
    "sendInvitationMessage": True,
    "invitedUserDisplayName": "Some Name",
    "inviteRedirectUrl": "https://google.at",
    "invitedUserType": "Guest",
    "invitedUser": {"id": "2794ae53-0b5f-4c73-8198-5502fac6d1d8"},
    "invitationId": EXAMPLE_ID,
    "expiresDateTime": "2026-12-31T09:30:00Z",
    "requestedBy": "adele.vance@contoso.example",
    "more": {},
}
ANSWER_EXAMPLES: dict[tuple[str, str, str], Any] = {
    ("/api/InviteGuest", "post", "201"): INVITE_ANSWER,
}
# Answers that are not JSON, as Graph gives them: the count is a bare number.
TEXT_ANSWERS = {("/v1.0/users/$count", "get", "200"): "42"}
TOKEN_FORM = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "example": "client_credentials"},
        "client_id": {"type": "string", "description": "the AppID (or send HTTP Basic)"},
        "client_secret": {"type": "string", "description": "the AppSecret (or HTTP Basic)"},
        "scope": {"type": "string", "example": "https://graph.microsoft.com/.default"},
    },
}
EMPTY_BODY = {
    "required": False,
    "description": "Takes no body; an empty JSON object is accepted (at most 1 KiB).",
    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
}


def document(app: Litestar) -> dict[str, Any]:
    """The app's complete OpenAPI document, built once per app."""
    built: dict[str, Any] | None = app.state.get("openapi_document")
    if built is None:
        built = complete(app.openapi_schema.to_schema(), descriptions=_docstrings(app))
        app.state.openapi_document = built
    return built


def _docstrings(app: Litestar) -> dict[tuple[str, str], str]:
    """Each route's one-line docstring, which becomes its operation's description."""
    return {
        (route.path_format, method.lower()): " ".join(handler.fn.__doc__.split())
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if handler.fn.__doc__ and method != "OPTIONS"
    }


def complete(
    schema: dict[str, Any], *, descriptions: dict[tuple[str, str], str] | None = None
) -> dict[str, Any]:
    """Litestar's document with request bodies, OData options and true error answers."""
    schema = copy.deepcopy(schema)
    _request_bodies(schema)
    for (path, method), operation in operations(schema):
        if descriptions and (path, method) in descriptions:
            operation.setdefault("description", descriptions[path, method])
        if (path, method) in ODATA:
            operation["parameters"] = [*operation.get("parameters", []), *ODATA[path, method]]
        _responses(path, method, operation)
    return schema


def operations(schema: dict[str, Any]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
    return [
        ((path, method), operation)
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _request_bodies(schema: dict[str, Any]) -> None:
    bodies = {
        **api.REQUEST_BODIES,
        **events.REQUEST_BODIES,
        **applications.REQUEST_BODIES,
        **policies.REQUEST_BODIES,
        **approvals.REQUEST_BODIES,
    }
    refs, components = msgspec.json.schema_components(
        list(bodies.values()), ref_template="#/components/schemas/{name}"
    )
    for name, fields in REQUIRED_FIELDS.items():
        if name in components:
            components[name]["required"] = fields
    schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
    paths = schema.get("paths", {})
    for ((path, method), _), ref in zip(bodies.items(), refs, strict=True):
        operation = paths.get(path, {}).get(method)
        if operation is None:  # the Graph-compatible routes exist in local mode only
            continue
        content: dict[str, Any] = {"schema": ref}
        if (path, method) in BODY_EXAMPLES:
            content["example"] = BODY_EXAMPLES[path, method]
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
    for action in ("resend", "revoke"):
        operation = paths.get(f"/api/invitations/{{invitation_id}}/{action}", {}).get("post")
        if operation is not None:
            operation["requestBody"] = EMPTY_BODY
    for (path, method), body in EVENT_BODIES.items():
        if (operation := paths.get(path, {}).get(method)) is not None:
            operation["requestBody"] = body
    openapi_bulk.document(paths)
    openapi_reports.document(paths)
    openapi_lifecycle.document(paths)
    openapi_users.document(paths)
    token = paths.get("/{tenant}/oauth2/v2.0/token", {}).get("post")
    if token is not None:
        token["requestBody"] = {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": TOKEN_FORM}},
        }


def _responses(path: str, method: str, operation: dict[str, Any]) -> None:
    """Success answers as Litestar derived them; error answers only those the route gives."""
    responses: dict[str, Any] = operation.get("responses", {})
    kept = {code: answer for code, answer in responses.items() if code.startswith("2")}
    for code, answer in kept.items():
        if (path, method, code) in TEXT_ANSWERS:
            schema = {"type": "string", "pattern": "^[0-9]+$"}
            text = TEXT_ANSWERS[path, method, code]
            answer["content"] = {"text/plain": {"schema": schema, "example": text}}
            continue
        shown = ANSWER_EXAMPLES.get((path, method, code))
        if shown is not None:
            for media in answer.get("content", {}).values():
                media["example"] = shown
    errors = (
        ROUTE_ERRORS.get((path, method))
        or EVENT_ERRORS.get((path, method))
        or BULK_ERRORS.get((path, method))
        or REPORT_ERRORS.get((path, method))
        or LIFECYCLE_ERRORS.get((path, method))
        or USER_ERRORS.get((path, method))
    )
    if errors is None:
        # A route this table does not know yet: drop the answers it cannot give without a body.
        unknown = {"409", "413", "415"} if method in BODYLESS else set()
        kept |= {c: a for c, a in responses.items() if c not in kept and c not in unknown}
    else:
        for status, (description, example) in sorted(errors.items()):
            body_ref = (
                {"$ref": "#/components/schemas/ErrorBody"}
                if "message" in example
                else {"type": "object"}
            )
            kept[str(status)] = {
                "description": description,
                "content": {"application/json": {"schema": body_ref, "example": example}},
            }
    operation["responses"] = kept
