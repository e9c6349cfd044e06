"""The event feed (`GET /api/events`) and webhook endpoints (`/api/webhooks`).

Reading the feed needs AuditLog.Read.All, as reading the audit trail does; managing webhook
endpoints needs User.ReadWrite.All, the administrator's permission: an endpoint receives
every guest change of the tenant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.params import Parameter

from guestgate.domain.apps import READ_AUDIT, READWRITE_USERS
from guestgate.domain.events import EVENT_TYPES, Event
from guestgate.domain.tenants import is_guid
from guestgate.domain.webhooks import Attempt, Endpoint
from guestgate.errors import NotFound, ValidationError
from guestgate.runtime import Runtime
from guestgate.services import events, webhooks
from guestgate.services.ports import UnitOfWork
from guestgate.web.api import ERRORS, authorize_known_query
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.body import parse_json
from guestgate.web.routes import delete, get, patch, post

ROUTE: dict[str, Any] = {
    "guards": [authorize_known_query],
    "tags": ["Events"],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}
SMALL_BODY = 4 * 1024


class WebhookCreate(msgspec.Struct):
    """POST /api/webhooks: where to deliver, and which types (none: every type)."""

    url: str
    eventTypes: list[str] = msgspec.field(default_factory=list)


class WebhookUpdate(msgspec.Struct):
    """PATCH /api/webhooks/{id}: switch deliveries on or off."""

    enabled: bool


class ReplayBody(msgspec.Struct):
    """One event (`eventId`) or every event in [`start`, `end`) (ISO 8601 with a zone)."""

    eventId: str | None = None
    start: str | None = None
    end: str | None = None


# Bodies these routes parse themselves (web/body.py); web/openapi.py documents them.
REQUEST_BODIES: dict[tuple[str, str], type] = {
    ("/api/webhooks", "post"): WebhookCreate,
    ("/api/webhooks/{endpoint_id}", "patch"): WebhookUpdate,
    ("/api/webhooks/{endpoint_id}/replay", "post"): ReplayBody,
}


def endpoint_answer(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason,
        "createdDateTime": endpoint.created_at,
        "secretRotatedDateTime": endpoint.rotated_at,
    }


def attempt_answer(attempt: Attempt) -> dict[str, Any]:
    return {
        "eventId": attempt.event_id,
        "attemptedDateTime": attempt.attempted_at,
        "statusCode": attempt.status_code,
        "latencyMs": attempt.latency_ms,
        "error": attempt.error,
        "responseExcerpt": attempt.response_excerpt,
    }


def numbering_uow(runtime: Runtime) -> Callable[..., UnitOfWork]:
    """Units of work for the feed: its numbering pass writes outside group commits."""

    def make(*, write: bool = True) -> UnitOfWork:
        return runtime.uow(write=write, alone=write)

    return make


def event_answer(event: Event) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(event.body)
    return {"id": event.id, "sequence": event.sequence, **body}


def _endpoint_id(value: str) -> str:
    if not is_guid(value):
        raise NotFound(f"There is no webhook endpoint {value[:64]}.", code="WebhookNotFound")
    return value.lower()


def _moment(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            f"{name} must be an ISO 8601 time with a zone (2026-03-04T10:00:00Z).",
            code="InvalidReplay",
        )
    return moment


@get(
    "/api/events",
    opt={"permission": READ_AUDIT, "query": frozenset({"after", "type", "top"})},
    **ROUTE,
)
async def list_events(
    request: Request[Any, Any, Any],
    after: Annotated[str | None, Parameter(max_length=20)] = None,
    type: Annotated[str | None, Parameter(max_length=1000)] = None,
    top: Annotated[int, Parameter(ge=1, le=events.MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """The tenant's events in sequence order after a cursor; follow `next` for more."""
    runtime = runtime_of(request)
    cursor = events.parse_cursor(after)
    types = [t for t in (type or "").split(",") if t.strip()]
    found = await events.feed(
        numbering_uow(runtime),
        tenant_id=caller_of(request).tenant_id,
        after=cursor,
        types=types,
        limit=top,
    )
    last = found[-1].number if found else cursor
    following: dict[str, Any] = {"after": last, "top": top} | ({"type": type} if type else {})
    return {
        "value": [event_answer(e) for e in found],
        "cursor": str(last),
        "next": f"{runtime.settings.http.public_url}/api/events?{urlencode(following)}",
    }


@get("/api/events/types", opt={"permission": READ_AUDIT}, **ROUTE)
async def list_event_types() -> dict[str, Any]:
    """Every event type, with what it means."""
    return {"value": [{"type": k, "description": v} for k, v in EVENT_TYPES.items()]}


@post(
    "/api/webhooks",
    opt={"permission": READWRITE_USERS},
    status_code=201,
    request_max_body_size=SMALL_BODY,
    **ROUTE,
)
async def create_webhook(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    runtime = runtime_of(request)
    body = parse_json(await request.body(), request.headers.get("content-type"), WebhookCreate)
    made = await webhooks.add_endpoint(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        url=body.url,
        event_types=body.eventTypes,
        sealer=runtime.sealer,
        resolver=runtime.webhook_resolver,
        allow_private=runtime.settings.webhooks.allow_private_targets,
        now=runtime.now(),
        tenant_kept=runtime.keeps_tenants,
    )
    return endpoint_answer(made.endpoint) | {"secret": made.secret}


@get("/api/webhooks", opt={"permission": READWRITE_USERS}, **ROUTE)
async def list_webhooks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The tenant's endpoints (never their secrets)."""
    found = await webhooks.list_endpoints(
        runtime_of(request).uow(write=False), tenant_id=caller_of(request).tenant_id
    )
    return {"value": [endpoint_answer(e) for e in found]}


@get(
    "/api/webhooks/{endpoint_id:str}",
    opt={"permission": READWRITE_USERS, "query": frozenset({"top"})},
    **ROUTE,
)
async def get_webhook(
    request: Request[Any, Any, Any],
    endpoint_id: str,
    top: Annotated[int, Parameter(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """An endpoint, its deliveries by status and its delivery log (newest attempt first)."""
    endpoint, counts, attempts = await webhooks.delivery_log(
        runtime_of(request).uow(write=False),
        tenant_id=caller_of(request).tenant_id,
        endpoint_id=_endpoint_id(endpoint_id),
        limit=top,
    )
    return endpoint_answer(endpoint) | {
        "deliveries": counts,
        "attempts": [attempt_answer(a) for a in attempts],
    }


@patch(
    "/api/webhooks/{endpoint_id:str}",
    opt={"permission": READWRITE_USERS},
    request_max_body_size=SMALL_BODY,
    **ROUTE,
)
async def update_webhook(request: Request[Any, Any, Any], endpoint_id: str) -> dict[str, Any]:
    """Enable or disable an endpoint; enabled again, it gets events from then on."""
    runtime = runtime_of(request)
    body = parse_json(await request.body(), request.headers.get("content-type"), WebhookUpdate)
    endpoint = await webhooks.set_enabled(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        endpoint_id=_endpoint_id(endpoint_id),
        enabled=body.enabled,
        now=runtime.now(),
    )
    return endpoint_answer(endpoint)


@delete("/api/webhooks/{endpoint_id:str}", opt={"permission": READWRITE_USERS}, **ROUTE)
async def delete_webhook(request: Request[Any, Any, Any], endpoint_id: str) -> None:
    """Delete an endpoint, its pending deliveries and its log."""
    runtime = runtime_of(request)
    await webhooks.remove_endpoint(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        endpoint_id=_endpoint_id(endpoint_id),
        now=runtime.now(),
    )


@post(
    "/api/webhooks/{endpoint_id:str}/rotate-secret",
    opt={"permission": READWRITE_USERS},
    status_code=200,
    request_max_body_size=SMALL_BODY,
    **ROUTE,
)
async def rotate_webhook_secret(
    request: Request[Any, Any, Any], endpoint_id: str
) -> dict[str, Any]:
    """A new signing secret, shown once; the previous one also signs for 24 hours."""
    await request.body()  # takes no body; reading it enforces the size limit
    runtime = runtime_of(request)
    secret = await webhooks.rotate_secret(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        endpoint_id=_endpoint_id(endpoint_id),
        sealer=runtime.sealer,
        now=runtime.now(),
    )
    return {"id": endpoint_id.lower(), "secret": secret}


@post(
    "/api/webhooks/{endpoint_id:str}/replay",
    opt={"permission": READWRITE_USERS},
    status_code=202,
    request_max_body_size=SMALL_BODY,
    **ROUTE,
)
async def replay_webhook(request: Request[Any, Any, Any], endpoint_id: str) -> Response[bytes]:
    """Send one event, or every event of a time range, to the endpoint again."""
    runtime = runtime_of(request)
    body = parse_json(await request.body(), request.headers.get("content-type"), ReplayBody)
    if body.eventId is not None and not is_guid(body.eventId):
        raise NotFound(f"There is no event {body.eventId[:64]}.", code="EventNotFound")
    queued = await webhooks.replay(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        endpoint_id=_endpoint_id(endpoint_id),
        now=runtime.now(),
        event_id=None if body.eventId is None else body.eventId.lower(),
        start=_moment("start", body.start),
        end=_moment("end", body.end),
    )
    return Response(
        msgspec.json.encode({"queued": queued}), status_code=202, media_type="application/json"
    )


ROUTES = [
    list_events,
    list_event_types,
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    rotate_webhook_secret,
    replay_webhook,
]
