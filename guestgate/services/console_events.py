"""What the admin console shows and does with webhook endpoints and the event feed.

Administrators manage endpoints; a Reader sees the endpoints and the feed and changes
nothing; the other roles see neither (an endpoint receives every guest change of the
tenant). Every change goes through services/webhooks.py's use-cases, as the API's do, with
the signed-in person as the audit trail's actor; the feed is services/events.py's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guestgate.domain.events import Event
from guestgate.domain.roles import ConsolePerson as Person
from guestgate.domain.webhooks import Attempt, Endpoint
from guestgate.errors import PermissionDenied
from guestgate.services import events, webhooks
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.webhooks import NewEndpoint, Resolver

AUDIT_WINDOW = 2000  # the tenant's latest audit rows searched for the people behind events
NOT_YOURS = (
    "Your role does not let you see webhooks or the tenant's activity;"
    " administrators and readers see them."
)
READ_ONLY = "Your role lets you see webhooks, not change them."


@dataclass(frozen=True, slots=True)
class EndpointRow:
    endpoint: Endpoint
    deliveries: dict[str, int]  # by status: pending, delivered, dead (given up)


@dataclass(frozen=True, slots=True)
class EndpointLog:
    endpoint: Endpoint
    deliveries: dict[str, int]
    attempts: Sequence[Attempt]


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One event as the activity view shows it: its fields, and who made the change."""

    event: Event
    fields: dict[str, Any]  # the event's data without the tenant, sequence and actor
    app_id: str | None
    request_id: str | None
    person: str | None  # from the audit record of the same request, when a person acted


def require_view(person: Person) -> None:
    if not person.access.may_see_events:
        raise PermissionDenied(NOT_YOURS, code="NotAnAdministrator")


def require_manage(person: Person) -> None:
    require_view(person)
    if not person.access.may_manage_webhooks:
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")


async def list_endpoints(uow: UnitOfWork, *, person: Person) -> list[EndpointRow]:
    """The tenant's endpoints, oldest first, each with its deliveries by status."""
    require_view(person)
    tenant_id = person.tenant_id
    async with uow:
        found = await uow.webhooks.list_endpoints(tenant_id)
        return [EndpointRow(e, await uow.webhooks.delivery_counts(e.id)) for e in found]


async def endpoint_log(
    uow: UnitOfWork, *, person: Person, endpoint_id: str, limit: int
) -> EndpointLog:
    """One endpoint, its deliveries by status and its latest attempts."""
    require_view(person)
    found = await webhooks.delivery_log(
        uow, tenant_id=person.tenant_id, endpoint_id=endpoint_id, limit=limit
    )
    return EndpointLog(*found)


async def add(
    uow: UnitOfWork,
    *,
    person: Person,
    request_id: str | None,
    url: str,
    event_types: Sequence[str],
    sealer: Sealer,
    resolver: Resolver,
    allow_private: bool,
    now: datetime,
    tenant_kept: bool = True,
) -> NewEndpoint:
    """Register an endpoint, as POST /api/webhooks does; its secret is in the answer only.
    `tenant_kept`: guestgate keeps the tenant (local mode), whose row must exist."""
    require_manage(person)
    return await webhooks.add_endpoint(
        uow,
        tenant_id=person.tenant_id,
        url=url,
        event_types=event_types,
        sealer=sealer,
        resolver=resolver,
        allow_private=allow_private,
        now=now,
        actor=person.email,
        request_id=request_id,
        tenant_kept=tenant_kept,
    )


async def set_enabled(
    uow: UnitOfWork,
    *,
    person: Person,
    request_id: str | None,
    endpoint_id: str,
    enabled: bool,
    now: datetime,
) -> Endpoint:
    require_manage(person)
    return await webhooks.set_enabled(
        uow,
        tenant_id=person.tenant_id,
        endpoint_id=endpoint_id,
        enabled=enabled,
        now=now,
        actor=person.email,
        request_id=request_id,
    )


async def rotate_secret(
    uow: UnitOfWork,
    *,
    person: Person,
    request_id: str | None,
    endpoint_id: str,
    sealer: Sealer,
    now: datetime,
) -> str:
    """A new signing secret, shown once; the previous one keeps signing for the overlap."""
    require_manage(person)
    return await webhooks.rotate_secret(
        uow,
        tenant_id=person.tenant_id,
        endpoint_id=endpoint_id,
        sealer=sealer,
        now=now,
        actor=person.email,
        request_id=request_id,
    )


async def remove(
    uow: UnitOfWork, *, person: Person, request_id: str | None, endpoint_id: str, now: datetime
) -> None:
    require_manage(person)
    await webhooks.remove_endpoint(
        uow,
        tenant_id=person.tenant_id,
        endpoint_id=endpoint_id,
        now=now,
        actor=person.email,
        request_id=request_id,
    )


async def replay(
    uow: UnitOfWork,
    *,
    person: Person,
    request_id: str | None,
    endpoint_id: str,
    now: datetime,
    event_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Send one event, or every event of [start, end), to the endpoint again."""
    require_manage(person)
    return await webhooks.replay(
        uow,
        tenant_id=person.tenant_id,
        endpoint_id=endpoint_id,
        now=now,
        event_id=event_id,
        start=start,
        end=end,
        actor=person.email,
        request_id=request_id,
    )


async def activity(
    make_uow: Callable[..., UnitOfWork],
    *,
    person: Person,
    after: int,
    types: Sequence[str],
    limit: int,
) -> list[ActivityRow]:
    """The tenant's events after a cursor in sequence order, as GET /api/events serves them,
    each with the person the audit trail names for its request (the console's changes)."""
    require_view(person)
    tenant_id = person.tenant_id
    found = await events.feed(make_uow, tenant_id=tenant_id, after=after, types=types, limit=limit)
    rows = [row_of(e) for e in found]
    people: dict[str, str] = {}
    if any(r.request_id for r in rows):
        async with make_uow(write=False) as uow:
            for record in await uow.audit.list(tenant_id, limit=AUDIT_WINDOW):
                if record.request_id and record.actor and not record.app_id:
                    people.setdefault(record.request_id, record.actor)
    return [
        ActivityRow(r.event, r.fields, r.app_id, r.request_id, people.get(r.request_id or ""))
        for r in rows
    ]


def row_of(event: Event) -> ActivityRow:
    """An event as the activity view shows it (no person yet: `activity` finds it)."""
    data = json.loads(event.body).get("data", {})
    actor = data.pop("actor", None) or {}
    for key in ("tenantId", "sequence"):
        data.pop(key, None)
    return ActivityRow(event, data, actor.get("appId"), actor.get("requestId"), None)
