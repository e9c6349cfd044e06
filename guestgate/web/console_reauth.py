"""A sign-in within the last 10 minutes, for the console's sensitive actions.

Deleting guests and adding app secrets need the person to have entered a sign-in code
recently, as Entra asks for a fresh sign-in before such changes. The console session keeps
the ID token's auth_time (services/console.py `Person.signed_in_at`). When it is older than
the window, the action is not done: the person gets a page saying why, with a link that
signs them in again with ``prompt=login`` and ``max_age=600``; the callback accepts only an
ID token whose auth_time is within the window, starts a new console session and sends the
browser to `back`, a GET page that shows the action's confirmation again with its values,
so one more click completes it.

Usage in a POST handler, after `checked_form` and before the change::

    back = f"/admin/{tenant}/apps/{app_id}/secrets/new?name=..."
    again = await require_recent_sign_in(request, signed, action="Adding a secret", back=back)
    if again is not None:
        return again
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, Response

from guestgate.domain import console as rules
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, sign_in_link
from guestgate.web.console_pages import when
from guestgate.web.forms import render

MAX_BACK = 2048


def recently_signed_in(request: Request[Any, Any, Any], signed: Signed) -> bool:
    """Whether the person entered a sign-in code within the recent-sign-in window."""
    now = runtime_of(request).now()
    return signed.person.signed_in_since(now - timedelta(seconds=rules.RECENT_SIGN_IN_SECONDS))


async def require_recent_sign_in(
    request: Request[Any, Any, Any], signed: Signed, *, action: str, back: str
) -> Response[str] | None:
    """None when the person signed in within the last 10 minutes; otherwise the page that
    asks them to sign in again, after which the browser comes back to `back` (a console
    path, typically the action's confirmation with its values in the query)."""
    if recently_signed_in(request, signed):
        return None
    runtime = runtime_of(request)
    home = f"/admin/{signed.tenant.id}/guests"
    if not back.startswith(f"/admin/{signed.tenant.id}/") or len(back) > MAX_BACK:
        back = home
    location, login = await sign_in_link(request, runtime, signed.tenant, target=back, fresh=True)
    page = render(
        "console_reauth.html",
        403,
        org=signed.tenant.name,
        title="Sign in again to continue",
        action=action,
        minutes=rules.RECENT_SIGN_IN_SECONDS // 60,
        last=when(signed.person.signed_in_at),
        me=signed.person.email,
        sign_in=location,
        cancel=back,
    )
    page.cookies.append(login)
    return page
