"""Recipes for tests/e2e/test_openapi.py: each documented answer of the event feed, the
webhook endpoints and the Graph subscriptions (web/openapi_events.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.timestamps import iso, utcnow
from guestgate.services import event_sweeps
from tests.e2e.server import Caller, Server

HOOKS = "/api/webhooks"
HOOK = "/api/webhooks/{endpoint_id}"
SUBS = "/v1.0/subscriptions"
SUB = "/v1.0/subscriptions/{subscription_id}"
Recipe = Callable[[], httpx.Response]
JSON = {"content-type": "application/json"}


def forget_every_event(database_url: str) -> None:
    """The worker's retention pass, run as if a year had passed: every event not owed goes."""

    async def run() -> None:
        db = connect(database_url, pool_size=1)
        try:
            await event_sweeps.forget_old_events(
                lambda: SqlUnitOfWork(db), now=utcnow() + timedelta(days=365), retention_days=1
            )
        finally:
            await db.close()

    asyncio.run(run())


def event_recipes(
    server: Server,
    tenant: str,
    reader: Caller,
    anonymous: Callable[..., httpx.Response],
    receiver_url: str,
) -> dict[tuple[str, str, int], Recipe]:
    """`reader` lacks User.ReadWrite.All and AuditLog.Read.All; `receiver_url` answers
    Graph's validation handshake. The server allows loopback webhook targets."""
    admin = Caller.new_app(server, tenant, "User.ReadWrite.All", "AuditLog.Read.All")
    watcher = Caller.new_app(server, tenant, "User.Read.All")
    outsider = Caller.new_app(server, tenant, "User.Invite.All")  # no User.Read.All
    small_big = {"content": b"{" + b" " * 9_000 + b"}", "headers": JSON}
    text = {"content": b"hello", "headers": {"content-type": "text/plain"}}
    expiry = iso(utcnow() + timedelta(days=2))

    def endpoint(suffix: str = "") -> str:
        made = admin.request("POST", HOOKS, json={"url": receiver_url})
        return f"{HOOKS}/{made.json()['id']}{suffix}"

    def subscription() -> str:
        made = watcher.request(
            "POST",
            SUBS,
            json={
                "changeType": "updated",
                "notificationUrl": receiver_url,
                "resource": "/users",
                "expirationDateTime": expiry,
            },
        )
        return f"{SUBS}/{made.json()['id']}"

    def forgotten() -> httpx.Response:
        domain = f"gone{uuid.uuid4().hex[:8]}.example"
        server.cli("tenant", "create", "--name", "Gone", "--domain", domain)
        owner = Caller.new_app(server, domain, "User.Invite.All", "AuditLog.Read.All")
        owner.invite({"invitedUserEmailAddress": f"g{uuid.uuid4().hex[:8]}@example.com"})
        assert owner.request("GET", "/api/events").status_code == 200  # numbered now
        forget_every_event(server.database_url)
        return owner.request("GET", "/api/events", params={"after": "0"})

    def call(who: Caller, method: str, path: str, **kwargs: Any) -> Recipe:
        return lambda: who.request(method, path, **kwargs)

    def on_endpoint(who: Caller, method: str, suffix: str = "", **kwargs: Any) -> Recipe:
        return lambda: who.request(method, endpoint(suffix), **kwargs)

    def on_subscription(who: Caller, method: str, **kwargs: Any) -> Recipe:
        return lambda: who.request(method, subscription(), **kwargs)

    no_hook, no_sub = f"{HOOKS}/{uuid.uuid4()}", f"{SUBS}/{uuid.uuid4()}"
    renew = {"expirationDateTime": expiry}
    recipes: dict[tuple[str, str, int], Recipe] = {
        ("/api/events", "get", 200): call(admin, "GET", "/api/events"),
        ("/api/events", "get", 400): call(admin, "GET", "/api/events?after=abc"),
        ("/api/events", "get", 401): lambda: anonymous("GET", "/api/events"),
        ("/api/events", "get", 403): call(reader, "GET", "/api/events"),
        ("/api/events", "get", 410): forgotten,
        ("/api/events/types", "get", 200): call(admin, "GET", "/api/events/types"),
        ("/api/events/types", "get", 400): call(admin, "GET", "/api/events/types?x=1"),
        ("/api/events/types", "get", 401): lambda: anonymous("GET", "/api/events/types"),
        ("/api/events/types", "get", 403): call(reader, "GET", "/api/events/types"),
        (HOOKS, "post", 201): call(admin, "POST", HOOKS, json={"url": receiver_url}),
        (HOOKS, "post", 400): call(admin, "POST", HOOKS, json={"url": "https://0.0.0.0/x"}),
        (HOOKS, "post", 401): lambda: anonymous("POST", HOOKS, json={"url": receiver_url}),
        (HOOKS, "post", 403): call(reader, "POST", HOOKS, json={"url": receiver_url}),
        (HOOKS, "post", 413): call(admin, "POST", HOOKS, **small_big),
        (HOOKS, "post", 415): call(admin, "POST", HOOKS, **text),
        (HOOKS, "get", 200): call(admin, "GET", HOOKS),
        (HOOKS, "get", 400): call(admin, "GET", f"{HOOKS}?x=1"),
        (HOOKS, "get", 401): lambda: anonymous("GET", HOOKS),
        (HOOKS, "get", 403): call(reader, "GET", HOOKS),
        (HOOK, "get", 200): on_endpoint(admin, "GET"),
        (HOOK, "get", 400): on_endpoint(admin, "GET", "?x=1"),
        (HOOK, "get", 401): lambda: anonymous("GET", no_hook),
        (HOOK, "get", 403): call(reader, "GET", no_hook),
        (HOOK, "get", 404): call(admin, "GET", no_hook),
        (HOOK, "patch", 200): on_endpoint(admin, "PATCH", json={"enabled": False}),
        (HOOK, "patch", 400): on_endpoint(admin, "PATCH", json={}),
        (HOOK, "patch", 401): lambda: anonymous("PATCH", no_hook, json={"enabled": False}),
        (HOOK, "patch", 403): call(reader, "PATCH", no_hook, json={"enabled": False}),
        (HOOK, "patch", 404): call(admin, "PATCH", no_hook, json={"enabled": False}),
        (HOOK, "patch", 413): on_endpoint(admin, "PATCH", **small_big),
        (HOOK, "patch", 415): on_endpoint(admin, "PATCH", **text),
        (HOOK, "delete", 204): on_endpoint(admin, "DELETE"),
        (HOOK, "delete", 400): on_endpoint(admin, "DELETE", "?x=1"),
        (HOOK, "delete", 401): lambda: anonymous("DELETE", no_hook),
        (HOOK, "delete", 403): call(reader, "DELETE", no_hook),
        (HOOK, "delete", 404): call(admin, "DELETE", no_hook),
        (f"{HOOK}/rotate-secret", "post", 200): on_endpoint(admin, "POST", "/rotate-secret"),
        (f"{HOOK}/rotate-secret", "post", 400): on_endpoint(admin, "POST", "/rotate-secret?x=1"),
        (f"{HOOK}/rotate-secret", "post", 401): lambda: anonymous(
            "POST", f"{no_hook}/rotate-secret"
        ),
        (f"{HOOK}/rotate-secret", "post", 403): call(reader, "POST", f"{no_hook}/rotate-secret"),
        (f"{HOOK}/rotate-secret", "post", 404): call(admin, "POST", f"{no_hook}/rotate-secret"),
        (f"{HOOK}/rotate-secret", "post", 413): on_endpoint(
            admin, "POST", "/rotate-secret", **small_big
        ),
        (f"{HOOK}/replay", "post", 202): on_endpoint(
            admin,
            "POST",
            "/replay",
            json={"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
        ),
        (f"{HOOK}/replay", "post", 400): on_endpoint(admin, "POST", "/replay", json={}),
        (f"{HOOK}/replay", "post", 401): lambda: anonymous("POST", f"{no_hook}/replay", json={}),
        (f"{HOOK}/replay", "post", 403): call(reader, "POST", f"{no_hook}/replay", json={}),
        (f"{HOOK}/replay", "post", 404): call(
            admin, "POST", f"{no_hook}/replay", json={"eventId": str(uuid.uuid4())}
        ),
        (f"{HOOK}/replay", "post", 413): on_endpoint(admin, "POST", "/replay", **small_big),
        (f"{HOOK}/replay", "post", 415): on_endpoint(admin, "POST", "/replay", **text),
        (SUBS, "post", 201): lambda: watcher.request(
            "POST",
            SUBS,
            json={
                "changeType": "updated",
                "notificationUrl": receiver_url,
                "resource": "/users",
                "expirationDateTime": expiry,
            },
        ),
        (SUBS, "post", 400): lambda: watcher.request(
            "POST",
            SUBS,
            json={
                "changeType": "updated",
                "notificationUrl": "http://127.0.0.1:9/nobody-answers",
                "resource": "/users",
                "expirationDateTime": expiry,
            },
        ),
        (SUBS, "post", 401): lambda: anonymous("POST", SUBS, json={}),
        (SUBS, "post", 403): call(outsider, "POST", SUBS, json={}),
        (SUBS, "post", 413): call(watcher, "POST", SUBS, **small_big),
        (SUBS, "post", 415): call(watcher, "POST", SUBS, **text),
        (SUBS, "get", 200): call(watcher, "GET", SUBS),
        (SUBS, "get", 401): lambda: anonymous("GET", SUBS),
        (SUBS, "get", 403): call(outsider, "GET", SUBS),
        (SUB, "get", 200): on_subscription(watcher, "GET"),
        (SUB, "get", 401): lambda: anonymous("GET", no_sub),
        (SUB, "get", 403): call(outsider, "GET", no_sub),
        (SUB, "get", 404): call(watcher, "GET", no_sub),
        (SUB, "patch", 200): on_subscription(watcher, "PATCH", json=renew),
        (SUB, "patch", 400): on_subscription(watcher, "PATCH", json={}),
        (SUB, "patch", 401): lambda: anonymous("PATCH", no_sub, json=renew),
        (SUB, "patch", 403): call(outsider, "PATCH", no_sub, json=renew),
        (SUB, "patch", 404): call(watcher, "PATCH", no_sub, json=renew),
        (SUB, "patch", 413): on_subscription(watcher, "PATCH", **small_big),
        (SUB, "patch", 415): on_subscription(watcher, "PATCH", **text),
        (SUB, "delete", 204): on_subscription(watcher, "DELETE"),
        (SUB, "delete", 401): lambda: anonymous("DELETE", no_sub),
        (SUB, "delete", 403): call(outsider, "DELETE", no_sub),
        (SUB, "delete", 404): call(watcher, "DELETE", no_sub),
    }
    return recipes
