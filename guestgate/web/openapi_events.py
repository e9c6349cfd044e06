"""The answers /openapi.json states for the event feed, webhook endpoints and Graph
subscriptions (web/events.py, web/subscriptions.py), beside `openapi_facts.ROUTE_ERRORS`;
tests/e2e/test_openapi.py provokes each of them."""

from __future__ import annotations

from typing import Any

from guestgate.domain.apps import READ_AUDIT, READ_USERS, READWRITE_USERS
from guestgate.web.openapi_facts import (
    EXAMPLE_ID,
    NO_TOKEN,
    NOT_JSON,
    TOO_LARGE,
    UNKNOWN_QUERY,
    Answer,
    api_error,
    bad,
    denied,
)

HOOK = "/api/webhooks/{endpoint_id}"
SUBSCRIPTION = "/v1.0/subscriptions/{subscription_id}"
NO_ENDPOINT: Answer = (
    "No webhook endpoint of the caller's tenant has this id",
    api_error("WebhookNotFound", f"There is no webhook endpoint {EXAMPLE_ID}."),
)
NO_SUBSCRIPTION: Answer = (
    "No subscription of the caller's tenant has this id",
    api_error("ResourceNotFound", f"The subscription {EXAMPLE_ID} does not exist."),
)
NOT_VALIDATED = bad(
    "InvalidRequest",
    "Subscription validation request failed. Notification endpoint must respond with 200 OK"
    " to validation request.",
)
BAD_BODY = bad(
    "InvalidRequestBody", "The request body is invalid: Object missing required field `enabled`."
)


def _hooks(more: dict[int, Answer]) -> dict[int, Answer]:
    return {401: NO_TOKEN, 403: denied(READWRITE_USERS), **more}


def _subscriptions(more: dict[int, Answer]) -> dict[int, Answer]:
    return {401: NO_TOKEN, 403: denied(READ_USERS), **more}


EVENT_ERRORS: dict[tuple[str, str], dict[int, Answer]] = {
    ("/api/events", "get"): {
        400: bad(
            "InvalidCursor", "after must be the sequence number of the last event seen (0 or more)."
        ),
        401: NO_TOKEN,
        403: denied(READ_AUDIT),
        410: (
            "The cursor is older than the events kept (GUESTGATE_EVENT_RETENTION_DAYS); the"
            " message names the oldest cursor available",
            api_error(
                "CursorExpired",
                "Events after 12 are no longer kept (the retention period passed); the oldest"
                " cursor available is 57.",
            ),
        ),
    },
    ("/api/events/types", "get"): {400: UNKNOWN_QUERY, 401: NO_TOKEN, 403: denied(READ_AUDIT)},
    ("/api/webhooks", "post"): _hooks(
        {
            400: bad(
                "WebhookTargetNotAllowed",
                "The webhook URL's host 10.0.0.7 is or resolves to a loopback, private,"
                " link-local or otherwise non-public address.",
            ),
            413: TOO_LARGE,
            415: NOT_JSON,
        }
    ),
    ("/api/webhooks", "get"): _hooks({400: UNKNOWN_QUERY}),
    (HOOK, "get"): _hooks({400: UNKNOWN_QUERY, 404: NO_ENDPOINT}),
    (HOOK, "patch"): _hooks({400: BAD_BODY, 404: NO_ENDPOINT, 413: TOO_LARGE, 415: NOT_JSON}),
    (HOOK, "delete"): _hooks({400: UNKNOWN_QUERY, 404: NO_ENDPOINT}),
    (f"{HOOK}/rotate-secret", "post"): _hooks(
        {400: UNKNOWN_QUERY, 404: NO_ENDPOINT, 413: TOO_LARGE}
    ),
    (f"{HOOK}/replay", "post"): _hooks(
        {
            400: bad(
                "InvalidReplay", "Replay one event (eventId) or a time range (start and end)."
            ),
            404: NO_ENDPOINT,
            413: TOO_LARGE,
            415: NOT_JSON,
        }
    ),
    ("/v1.0/subscriptions", "post"): _subscriptions(
        {400: NOT_VALIDATED, 413: TOO_LARGE, 415: NOT_JSON}
    ),
    ("/v1.0/subscriptions", "get"): _subscriptions({}),
    (SUBSCRIPTION, "get"): _subscriptions({404: NO_SUBSCRIPTION}),
    (SUBSCRIPTION, "patch"): _subscriptions(
        {
            400: bad("InvalidRequest", "expirationDateTime is required (ISO 8601, UTC)."),
            404: NO_SUBSCRIPTION,
            413: TOO_LARGE,
            415: NOT_JSON,
        }
    ),
    (SUBSCRIPTION, "delete"): _subscriptions({404: NO_SUBSCRIPTION}),
}

_URL = {"type": "string", "format": "uri", "example": "https://hooks.example.com/graph"}
_SUBSCRIPTION_FIELDS: dict[str, Any] = {
    "changeType": {"type": "string", "example": "updated,deleted"},
    "notificationUrl": _URL,
    "lifecycleNotificationUrl": _URL,
    "resource": {"type": "string", "example": "/users"},
    "expirationDateTime": {"type": "string", "format": "date-time"},
    "clientState": {"type": "string", "maxLength": 255},
}


def _json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


# Bodies of routes that parse their own: web/openapi.py puts them in the document.
EVENT_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    (f"{HOOK}/rotate-secret", "post"): {
        **_json_body({"type": "object", "maxProperties": 0}, required=False),
        "description": "Takes no body; an empty JSON object is accepted (at most 4 KiB).",
    },
    ("/v1.0/subscriptions", "post"): _json_body(
        {
            "type": "object",
            "properties": _SUBSCRIPTION_FIELDS,
            "required": ["changeType", "notificationUrl", "resource", "expirationDateTime"],
        }
    ),
    (SUBSCRIPTION, "patch"): _json_body(
        {
            "type": "object",
            "properties": {"expirationDateTime": _SUBSCRIPTION_FIELDS["expirationDateTime"]},
            "required": ["expirationDateTime"],
        }
    ),
}
