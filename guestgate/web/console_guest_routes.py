"""The guest routes both admin consoles share: a guest's action behind a confirmation, and
the sponsors, Disable/Enable and Deleted guests routes built on it.

Local mode's console (web/console_users.py) and Microsoft 365 mode's (web/console_m365.py)
differ in how a person signs in, which page frame they render and who may change a guest;
each hands that over as a `ConsoleFrame`, and `user_routes` builds the same routes over it.
Every change is a form post (the console's CSRF token); Disable, Enable and Restore ask for
a confirmation first; the person's right to change the guest is checked before anything else,
so a read-only role's posts are refused (403) whether confirmed or not. The rules and the
use-cases are services/console_user_admin.py's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from guestgate.domain.roles import Access
from guestgate.errors import GuestgateError
from guestgate.services import console_user_admin as admin
from guestgate.services.directory import Actor
from guestgate.services.user_admin import UserAdmin
from guestgate.web.auth import runtime_of
from guestgate.web.forms import see_other

C = TypeVar("C")
Form = dict[str, str]


class ConsoleFrame(Protocol[C]):
    """What a console lends the shared routes; `C` is its signed-in request (the person)."""

    async def signed(self, request: Request[Any, Any, Any], tenant: str) -> C | Response[str]:
        """The signed-in person, or the page to send instead (sign-in, 403, 404)."""
        ...

    async def form(
        self, request: Request[Any, Any, Any], tenant: str, max_fields: int = 10
    ) -> tuple[C, Form] | Response[str]:
        """A form post (of at most `max_fields` fields) with its CSRF token checked, or the
        refusal."""
        ...

    def refusal(self, signed: C, exc: GuestgateError) -> Response[str]: ...

    def base(self, signed: C) -> str:
        """The console's address in this tenant: /admin/<tenant id>."""
        ...

    def access(self, signed: C) -> Access: ...

    def person(self, signed: C) -> Any:
        """The signed-in person (its access, email and tenant_id)."""
        ...

    def checks_token(self, request: Request[Any, Any, Any], signed: C, form: Form) -> bool:
        """Whether a form the console read itself (a file upload) carries this session's
        CSRF token."""
        ...

    def actor(self, request: Request[Any, Any, Any], signed: C) -> Actor: ...

    async def changeable(self, request: Request[Any, Any, Any], signed: C, user_id: str) -> str:
        """The guest's id, if the person may change it; raises 403 or 404 otherwise."""
        ...

    def page(
        self, request: Request[Any, Any, Any], signed: C, template: str, **context: Any
    ) -> Response[str]: ...

    async def recent_sign_in(
        self, request: Request[Any, Any, Any], signed: C, *, action: str, back: str
    ) -> Response[str] | None:
        """None when the person signed in within the last 10 minutes; otherwise the page
        that asks them to sign in again and come back to `back`."""
        ...


def profile_link(frame: ConsoleFrame[C], signed: C, user_id: str, query: str = "") -> str:
    return f"{frame.base(signed)}/guests/{user_id}" + (f"?{query}" if query else "")


async def guest_action(
    frame: ConsoleFrame[C],
    request: Request[Any, Any, Any],
    tenant: str,
    user_id: str,
    *,
    verb: str,
    run: Callable[[C, str, Form], Awaitable[None]],
    confirm: bool = True,
    done: str | None = None,
    fresh: str | None = None,
    landing: str | None = None,
) -> Response[str]:
    """A guest's action from its profile: the form (CSRF checked), the person's right to
    change the guest, then (when `confirm`) the profile's confirmation unless the form says
    confirmed=yes, then (when `fresh` names the action) a sign-in within the last 10
    minutes, then `run` with the guest's id, then the profile saying it was done (or
    `landing`, a path under the console's address)."""
    checked = await frame.form(request, tenant)
    if isinstance(checked, Response):
        return checked
    signed, form = checked
    try:
        guest = await frame.changeable(request, signed, user_id)
    except GuestgateError as exc:
        return frame.refusal(signed, exc)
    if confirm and form.get("confirmed") != "yes":
        return see_other(profile_link(frame, signed, guest, f"confirm={verb}"))
    if fresh is not None:
        back = profile_link(frame, signed, guest, f"confirm={verb}")
        again = await frame.recent_sign_in(request, signed, action=fresh, back=back)
        if again is not None:
            return again
    try:
        await run(signed, guest, form)
    except GuestgateError as exc:
        return frame.refusal(signed, exc)
    if landing is not None:
        return see_other(f"{frame.base(signed)}/{landing}")
    return see_other(profile_link(frame, signed, guest, f"done={done or verb}"))


def _token(after: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def _after(token: str) -> tuple[str, str] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        deleted_at, user_id = value
        if isinstance(deleted_at, str) and isinstance(user_id, str):
            return deleted_at, user_id
    except (ValueError, TypeError):
        pass
    return None


def _users(request: Request[Any, Any, Any]) -> UserAdmin:
    return runtime_of(request).user_admin


def user_routes(frame: ConsoleFrame[Any]) -> list[HTTPRouteHandler]:
    """A guest's Disable/Enable and sponsors, and the Deleted guests page with Restore."""

    async def set_enabled(
        request: Request[Any, Any, Any], tenant: str, user_id: str, enabled: bool
    ) -> Response[str]:
        async def run(signed: Any, guest: str, form: Form) -> None:
            await admin.set_enabled(
                _users(request),
                actor=frame.actor(request, signed),
                user_id=guest,
                enabled=enabled,
            )

        verb = "enable" if enabled else "disable"
        return await guest_action(frame, request, tenant, user_id, verb=verb, run=run)

    @post(
        "/admin/{tenant:str}/guests/{user_id:str}/disable",
        include_in_schema=False,
        status_code=303,
    )
    async def disable(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
        """Disable the guest (accountEnabled false): no redemption, no sign-in."""
        return await set_enabled(request, tenant, user_id, False)

    @post(
        "/admin/{tenant:str}/guests/{user_id:str}/enable",
        include_in_schema=False,
        status_code=303,
    )
    async def enable(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
        """Enable a disabled guest again."""
        return await set_enabled(request, tenant, user_id, True)

    @post(
        "/admin/{tenant:str}/guests/{user_id:str}/sponsors",
        include_in_schema=False,
        status_code=303,
    )
    async def add_sponsor(
        request: Request[Any, Any, Any], tenant: str, user_id: str
    ) -> Response[str]:
        """Add a member, by address or object id, as the guest's sponsor (at most five)."""

        async def run(signed: Any, guest: str, form: Form) -> None:
            await admin.add_sponsor(
                _users(request),
                actor=frame.actor(request, signed),
                user_id=guest,
                sponsor=form.get("sponsor", "")[:320],
            )

        return await guest_action(
            frame, request, tenant, user_id, verb="sponsor", run=run, confirm=False,
            done="sponsor-added",
        )  # fmt: skip

    @post(
        "/admin/{tenant:str}/guests/{user_id:str}/sponsors/{sponsor_id:str}/remove",
        include_in_schema=False,
        status_code=303,
    )
    async def remove_sponsor(
        request: Request[Any, Any, Any], tenant: str, user_id: str, sponsor_id: str
    ) -> Response[str]:
        """Remove one sponsor of the guest."""

        async def run(signed: Any, guest: str, form: Form) -> None:
            await admin.remove_sponsor(
                _users(request),
                actor=frame.actor(request, signed),
                user_id=guest,
                sponsor_id=sponsor_id,
            )

        return await guest_action(
            frame, request, tenant, user_id, verb="sponsor", run=run, confirm=False,
            done="sponsor-removed",
        )  # fmt: skip

    @get("/admin/{tenant:str}/deleted", include_in_schema=False)
    async def deleted(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """Deleted guests, newest first, kept 30 days for restore."""
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        token = request.query_params.get("after", "")[:400]
        access = frame.access(signed)
        try:
            found = await admin.deleted(
                _users(request),
                access=access,
                actor=frame.actor(request, signed),
                after=_after(token) if token else None,
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        shown = list(found[: admin.DELETED_PAGE])
        last = shown[-1] if shown and len(found) > admin.DELETED_PAGE else None
        return frame.page(
            request,
            signed,
            "console_deleted.html",
            title="Deleted guests",
            found=shown,
            confirm=request.query_params.get("confirm", "")[:64],
            restorable=admin.may_restore(access),
            next_link=f"?after={_token((last.deleted_at, last.user.id))}" if last else None,
            retention_days=runtime_of(request).settings.mail.deleted_user_days,
        )

    @post(
        "/admin/{tenant:str}/deleted/{user_id:str}/restore",
        include_in_schema=False,
        status_code=303,
    )
    async def restore(request: Request[Any, Any, Any], tenant: str, user_id: str) -> Response[str]:
        """Restore a deleted guest with its id, sponsors and state."""
        checked = await frame.form(request, tenant)
        if isinstance(checked, Response):
            return checked
        signed, form = checked
        access = frame.access(signed)
        try:
            admin.check_may_restore(access)  # refused before any confirmation
            if form.get("confirmed") != "yes":
                confirm = quote(user_id[:64], safe="")
                return see_other(f"{frame.base(signed)}/deleted?confirm={confirm}")
            user = await admin.restore(
                _users(request),
                access=access,
                actor=frame.actor(request, signed),
                user_id=user_id,
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        return see_other(profile_link(frame, signed, user.id, "done=restore"))

    return [disable, enable, add_sponsor, remove_sponsor, deleted, restore]
