"""The admin console's Webhooks pages and Activity view.

Webhooks: the tenant's endpoints with their delivery counts, Add (the secret is shown once,
on the answer to the post, never in a URL), and per endpoint enable/disable, rotate secret,
remove (after a confirmation), replay and the delivery log. Activity: the event feed as
GET /api/events serves it. services/console_events.py decides who may see and do what;
its changes go through the API's own webhook use-cases. The same pages in both modes, over
each console's frame (web/console_guest_routes.py `ConsoleFrame`; `event_routes` builds
them): Microsoft 365 mode keeps the same events and webhook endpoints in guestgate's
database, for the changes guestgate makes in Entra, as the API's /api/events and
/api/webhooks serve them there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from guestgate.domain.events import EVENT_TYPES
from guestgate.domain.tenants import is_guid
from guestgate.errors import GuestgateError, NotFound, ValidationError
from guestgate.logs import request_id_var
from guestgate.services import console_events as hooks
from guestgate.services import events
from guestgate.web.auth import runtime_of
from guestgate.web.console_guest_actions import LOCAL
from guestgate.web.console_guest_routes import ConsoleFrame
from guestgate.web.errors import status_of
from guestgate.web.events import numbering_uow
from guestgate.web.forms import see_other

LOG_SIZE = 50  # delivery-log lines on an endpoint's page
FEED_PAGE = 50
ADD_FIELDS = 4 + len(EVENT_TYPES)  # csrf, url and one checkbox per type
DONE = {
    "enabled": "Deliveries are on again, from the next event.",
    "disabled": "Deliveries are off until you enable the endpoint again.",
    "replayed": "Queued again: {n} event(s).",
}
CHANGE: dict[str, Any] = {"include_in_schema": False, "status_code": 303}


def _endpoint_id(value: str) -> str:
    if not is_guid(value):
        raise NotFound("There is no such webhook endpoint.", code="WebhookNotFound")
    return value.lower()


def _moment(name: str, value: str) -> datetime | None:
    """A time from the form: the browser's datetime-local (read as UTC) or ISO 8601."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip()[:64])
    except ValueError:
        raise ValidationError(
            f"The {name} must be a date and time such as 2026-03-04T10:00 (UTC).",
            code="InvalidReplay",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_routes(frame: ConsoleFrame[Any]) -> list[HTTPRouteHandler]:
    """The Webhooks pages and the Activity view over `frame`."""

    def page(
        request: Request[Any, Any, Any],
        signed: Any,
        template: str,
        status: int = 200,
        **context: Any,
    ) -> Response[str]:
        section = "activity" if template == "console_activity.html" else "webhooks"
        return frame.page(
            request,
            signed,
            template,
            status=status,
            section=section,
            event_types=EVENT_TYPES,
            **context,
        )

    async def signed_in(request: Request[Any, Any, Any], tenant: str) -> Any:
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        try:
            hooks.require_view(frame.person(signed))
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        return signed

    async def listing(
        signed: Any, request: Request[Any, Any, Any], **context: Any
    ) -> Response[str]:
        runtime = runtime_of(request)
        try:
            rows = await hooks.list_endpoints(runtime.uow(write=False), person=frame.person(signed))
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        status = context.pop("status", 200)
        return page(
            request,
            signed,
            "console_webhooks.html",
            status,
            title="Webhooks",
            rows=rows,
            **{"form": {}, **context},
        )

    @get("/admin/{tenant:str}/webhooks", include_in_schema=False)
    async def webhook_list(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """The tenant's webhook endpoints, and the form to add one."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        removed = request.query_params.get("done") == "removed"
        return await listing(signed, request, removed=removed)

    @post("/admin/{tenant:str}/webhooks", include_in_schema=False, status_code=201)
    async def webhook_add(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """Add an endpoint; the answer shows its signing secret, this once."""
        checked = await frame.form(request, tenant, max_fields=ADD_FIELDS)
        if isinstance(checked, Response):
            return checked
        signed, form = checked
        runtime = runtime_of(request)
        chosen = [t for t in EVENT_TYPES if form.get(f"event.{t}") == "yes"]
        try:
            made = await hooks.add(
                runtime.uow(),
                person=frame.person(signed),
                request_id=request_id_var.get(),
                url=form.get("url", "").strip(),
                event_types=chosen,
                sealer=runtime.sealer,
                resolver=runtime.webhook_resolver,
                allow_private=runtime.settings.webhooks.allow_private_targets,
                now=runtime.now(),
                tenant_kept=runtime.keeps_tenants,
            )
        except GuestgateError as exc:
            if status_of(exc) != 400:
                return frame.refusal(signed, exc)
            return await listing(signed, request, status=400, error=exc.message, form=form)
        return await detail(signed, request, made.endpoint.id, status=201, secret=made.secret)

    async def detail(
        signed: Any, request: Request[Any, Any, Any], endpoint_id: str, **context: Any
    ) -> Response[str]:
        runtime = runtime_of(request)
        try:
            found = await hooks.endpoint_log(
                runtime.uow(write=False),
                person=frame.person(signed),
                endpoint_id=_endpoint_id(endpoint_id),
                limit=LOG_SIZE,
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        status = context.pop("status", 200)
        return page(
            request,
            signed,
            "console_webhook.html",
            status,
            title="Webhook endpoint",
            hook=found,
            **{"confirm": "", "done": "", "replay": {}, **context},
        )

    @get("/admin/{tenant:str}/webhooks/{endpoint_id:str}", include_in_schema=False)
    async def webhook_detail(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str
    ) -> Response[str]:
        """An endpoint: its settings, deliveries by status, actions and delivery log."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        query = request.query_params
        done = DONE.get(query.get("done", ""), "")
        queued = query.get("n", "")
        done = done.format(n=int(queued) if queued.isascii() and queued.isdigit() else 0)
        confirm = "remove" if query.get("confirm") == "remove" else ""
        return await detail(signed, request, endpoint_id, done=done, confirm=confirm)

    async def change(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str, action: str
    ) -> Response[str]:
        checked = await frame.form(request, tenant)
        if isinstance(checked, Response):
            return checked
        signed, form = checked
        runtime = runtime_of(request)
        person, request_id, now = frame.person(signed), request_id_var.get(), runtime.now()
        base = f"{frame.base(signed)}/webhooks"
        try:
            hooks.require_manage(person)
            endpoint_id = _endpoint_id(endpoint_id)
            if action in ("enable", "disable"):
                await hooks.set_enabled(
                    runtime.uow(),
                    person=person,
                    request_id=request_id,
                    endpoint_id=endpoint_id,
                    enabled=action == "enable",
                    now=now,
                )
                return see_other(f"{base}/{endpoint_id}?done={action}d")
            if action == "rotate":
                secret = await hooks.rotate_secret(
                    runtime.uow(),
                    person=person,
                    request_id=request_id,
                    endpoint_id=endpoint_id,
                    sealer=runtime.sealer,
                    now=now,
                )
                return await detail(signed, request, endpoint_id, secret=secret, rotated=True)
            if action == "remove":
                if form.get("confirmed") != "yes":
                    return see_other(f"{base}/{endpoint_id}?confirm=remove")
                await hooks.remove(
                    runtime.uow(),
                    person=person,
                    request_id=request_id,
                    endpoint_id=endpoint_id,
                    now=now,
                )
                return see_other(f"{base}?done=removed")
            return await replay(signed, request, endpoint_id, form)
        except GuestgateError as exc:
            return frame.refusal(signed, exc)

    async def replay(
        signed: Any, request: Request[Any, Any, Any], endpoint_id: str, form: dict[str, str]
    ) -> Response[str]:
        runtime = runtime_of(request)
        event_id = form.get("event", "").strip()
        try:
            if event_id and not is_guid(event_id):
                raise ValidationError(
                    f"{event_id[:64]!r} is not an event id (a GUID, as the Activity page shows).",
                    code="InvalidReplay",
                )
            queued = await hooks.replay(
                runtime.uow(),
                person=frame.person(signed),
                request_id=request_id_var.get(),
                endpoint_id=endpoint_id,
                now=runtime.now(),
                event_id=event_id.lower() or None,
                start=None if event_id else _moment("start", form.get("start", "")),
                end=None if event_id else _moment("end", form.get("end", "")),
            )
        except GuestgateError as exc:
            if status_of(exc) == 403:
                return frame.refusal(signed, exc)
            return await detail(
                signed, request, endpoint_id, status=status_of(exc), error=exc.message,
                replay=form,
            )  # fmt: skip
        base = f"{frame.base(signed)}/webhooks"
        return see_other(f"{base}/{endpoint_id}?done=replayed&n={queued}")

    @post("/admin/{tenant:str}/webhooks/{endpoint_id:str}/enable", **CHANGE)
    async def webhook_enable(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str
    ) -> Response[str]:
        """Switch an endpoint's deliveries back on, from the next event."""
        return await change(request, tenant, endpoint_id, "enable")

    @post("/admin/{tenant:str}/webhooks/{endpoint_id:str}/disable", **CHANGE)
    async def webhook_disable(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str
    ) -> Response[str]:
        """Stop an endpoint's deliveries."""
        return await change(request, tenant, endpoint_id, "disable")

    @post("/admin/{tenant:str}/webhooks/{endpoint_id:str}/rotate", **CHANGE)
    async def webhook_rotate(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str
    ) -> Response[str]:
        """A new signing secret, shown once; the previous one also signs for 24 hours."""
        return await change(request, tenant, endpoint_id, "rotate")

    @post("/admin/{tenant:str}/webhooks/{endpoint_id:str}/remove", **CHANGE)
    async def webhook_remove(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str
    ) -> Response[str]:
        """Remove an endpoint with its deliveries and log, once confirmed."""
        return await change(request, tenant, endpoint_id, "remove")

    @post("/admin/{tenant:str}/webhooks/{endpoint_id:str}/replay", **CHANGE)
    async def webhook_replay(
        request: Request[Any, Any, Any], tenant: str, endpoint_id: str
    ) -> Response[str]:
        """Send one event, or every event of a time range, to the endpoint again."""
        return await change(request, tenant, endpoint_id, "replay")

    @get("/admin/{tenant:str}/activity", include_in_schema=False)
    async def activity(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """The tenant's events in sequence order after a cursor, filtered by type."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        runtime = runtime_of(request)
        query = request.query_params
        chosen, after_text = query.get("type", "")[:200], query.get("after", "")[:20]
        try:
            after = events.parse_cursor(after_text)
            rows = await hooks.activity(
                numbering_uow(runtime),
                person=frame.person(signed),
                after=after,
                types=[chosen] if chosen else [],
                limit=FEED_PAGE,
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        kept = {"type": chosen} if chosen else {}
        following = None
        if len(rows) == FEED_PAGE:
            following = f"?{urlencode({**kept, 'after': rows[-1].event.number})}"
        return page(
            request,
            signed,
            "console_activity.html",
            title="Activity",
            rows=rows,
            chosen=chosen,
            after=after_text,
            next_link=following,
            first_link=f"?{urlencode(kept)}" if after else None,
        )

    return [
        webhook_list,
        webhook_add,
        webhook_detail,
        webhook_enable,
        webhook_disable,
        webhook_rotate,
        webhook_remove,
        webhook_replay,
        activity,
    ]


ROUTES = event_routes(LOCAL)
