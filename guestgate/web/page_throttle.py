"""The pages' shared throttle: failures (invalid links, wrong codes) counted per address in
the database, where every process sees them; past the limit a page says when to come back."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from guestgate.services.throttles import Check
from guestgate.web.auth import runtime_of
from guestgate.web.forms import message


def page_check(request: Request[Any, Any, Any]) -> Check:
    """The failure limit of the caller's address."""
    return (runtime_of(request).page_failures, (request.client.host if request.client else "",))


def come_back_in(wait: int, failures: str) -> Response[str]:
    """429: too many `failures` (e.g. "wrong codes") from this network; wait `wait` seconds."""
    page = message(
        429,
        "Too many attempts",
        f"There were too many {failures} from your network.",
        f"Try again in {max(1, round(wait / 60))} minute(s).",
    )
    page.headers["Retry-After"] = str(wait)
    return page


async def throttled(request: Request[Any, Any, Any], failures: str) -> Response[str] | None:
    """The 429 page if the caller's address is over its limit, else None."""
    wait = await runtime_of(request).throttles.retry_after(page_check(request))
    return None if wait is None else come_back_in(wait, failures)


async def count_failure(request: Request[Any, Any, Any]) -> None:
    """Count one failure against the caller's address."""
    await runtime_of(request).throttles.failed(page_check(request))
