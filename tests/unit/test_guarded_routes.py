"""Every guarded route runs its guards on the handler itself (web/routes.py), never on the
per-guard copy Litestar would make, and the guards see the route's own options."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler

from guestgate.web import (
    api,
    applications,
    approvals,
    bulk,
    events,
    graph,
    graph_users,
    lifecycle,
    lifecycle_attest,
    odata_feed,
    policies,
    reports,
    subscriptions,
)
from guestgate.web import routes as guarded

MODULES = (
    api,
    applications,
    approvals,
    bulk,
    events,
    graph,
    graph_users,
    lifecycle,
    lifecycle_attest,
    odata_feed,
    policies,
    reports,
    subscriptions,
)
DECORATORS = guarded.GuardedRoute


def _handlers() -> list[HTTPRouteHandler]:
    found = []
    for module in MODULES:
        for name in ("ROUTES", "GRAPH_ROUTES"):
            found += [h for h in getattr(module, name, []) if isinstance(h, HTTPRouteHandler)]
    return found


def test_every_route_with_a_guard_uses_the_read_only_guard_decorators() -> None:
    guarded_routes = [h for h in _handlers() if h.guards]
    assert len(guarded_routes) > 40
    wrong = [h.paths for h in guarded_routes if not isinstance(h, DECORATORS)]
    assert wrong == []


def test_a_guard_gets_the_handler_itself_with_its_options() -> None:
    seen: list[Any] = []

    async def guard(connection: Any, handler: Any) -> None:
        seen.append((handler, handler.opt.get("permission")))

    @guarded.get("/probe", guards=[guard], opt={"permission": "Probe.Read"}, sync_to_thread=False)
    def probe() -> str:
        return "ok"

    app = Litestar(route_handlers=[probe])
    handler = app.route_handler_method_map["/probe"]["GET"]
    scope: Any = {"type": "http", "method": "GET", "path": "/probe", "headers": [], "app": app}
    asyncio.run(handler.authorize_connection(Request(scope)))
    assert seen == [(handler, "Probe.Read")]
