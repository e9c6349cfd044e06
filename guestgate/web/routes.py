"""The route decorators of the guarded (token-protected) API routes.

Litestar hands each guard a shallow copy of the route handler, so that a guard cannot change
the handler other requests share. guestgate's guards (web/auth.py and the modules' own) only
read it (`handler.opt`), and the copy cost about 3 % of an InviteGuest's CPU in a profile (a
handler has dozens of attributes), so the handlers these decorators make run the guards on
the handler itself. They take Litestar's arguments (`get("/path", guards=[...], opt=...)`).
A test (tests/unit/test_guarded_routes.py) checks that every route with a guard is made here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


class GuardedRoute(HTTPRouteHandler):
    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Run every guard in scope, handing it this handler (the guards only read it)."""
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[misc]  # (made async by Litestar)


def _decorator(method: HttpMethod) -> Callable[..., GuardedRoute]:
    def decorator(path: str | list[str] | None = None, **kwargs: Any) -> GuardedRoute:
        return GuardedRoute(path, http_method=method, **kwargs)

    decorator.__name__ = method.value.lower()
    return decorator


get = _decorator(HttpMethod.GET)
post = _decorator(HttpMethod.POST)
patch = _decorator(HttpMethod.PATCH)
delete = _decorator(HttpMethod.DELETE)
put = _decorator(HttpMethod.PUT)
