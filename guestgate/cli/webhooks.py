"""Webhook commands: add, list, remove, rotate-secret, replay (thin over services/webhooks.py)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import datetime
from typing import Any

from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain.webhooks import Attempt, Endpoint
from guestgate.errors import ValidationError
from guestgate.services import tenants, webhooks


def endpoint_answer(endpoint: Endpoint) -> dict[str, Any]:
    return asdict(endpoint)


def attempt_answer(attempt: Attempt) -> dict[str, Any]:
    return {k: v for k, v in asdict(attempt).items() if k not in ("id", "delivery_id")}


def _tenant_id(settings: Settings, ref: str) -> str:
    tenant = run(settings, lambda rt: tenants.get_tenant(rt.uow(write=False), ref))
    return str(tenant.id)


def _moment(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            f"--{name} must be an ISO 8601 time with a zone (2026-03-04T10:00:00Z)",
            code="InvalidReplay",
        )
    return moment


def cmd_add(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    types = [t for t in (args.events or "").split(",") if t.strip()]
    made = run(
        settings,
        lambda rt: webhooks.add_endpoint(
            rt.uow(),
            tenant_id=tenant_id,
            url=args.url,
            event_types=types,
            sealer=rt.sealer,
            resolver=rt.webhook_resolver,
            allow_private=settings.webhooks.allow_private_targets,
            now=rt.now(),
        ),
    )
    # The secret is shown this once: it is stored sealed and cannot be read back.
    emit(endpoint_answer(made.endpoint) | {"secret": made.secret}, as_json=args.json)


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    found = run(
        settings, lambda rt: webhooks.list_endpoints(rt.uow(write=False), tenant_id=tenant_id)
    )
    emit([endpoint_answer(e) for e in found], as_json=args.json)


def cmd_show(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    endpoint, counts, attempts = run(
        settings,
        lambda rt: webhooks.delivery_log(
            rt.uow(write=False), tenant_id=tenant_id, endpoint_id=args.id, limit=args.limit
        ),
    )
    log = [attempt_answer(a) for a in attempts]
    if args.json:
        emit(endpoint_answer(endpoint) | {"deliveries": counts, "attempts": log}, as_json=True)
        return
    emit(endpoint_answer(endpoint) | {"deliveries": counts}, as_json=False)
    print()
    emit(log, as_json=False)


def cmd_remove(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    run(
        settings,
        lambda rt: webhooks.remove_endpoint(
            rt.uow(), tenant_id=tenant_id, endpoint_id=args.id, now=rt.now()
        ),
    )
    emit({"removed": args.id}, as_json=args.json)


def cmd_enable(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    endpoint = run(
        settings,
        lambda rt: webhooks.set_enabled(
            rt.uow(), tenant_id=tenant_id, endpoint_id=args.id, enabled=args.on, now=rt.now()
        ),
    )
    emit(endpoint_answer(endpoint), as_json=args.json)


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    secret = run(
        settings,
        lambda rt: webhooks.rotate_secret(
            rt.uow(), tenant_id=tenant_id, endpoint_id=args.id, sealer=rt.sealer, now=rt.now()
        ),
    )
    emit({"id": args.id, "secret": secret}, as_json=args.json)


def cmd_replay(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    start, end = _moment("since", args.since), _moment("until", args.until)
    queued = run(
        settings,
        lambda rt: webhooks.replay(
            rt.uow(),
            tenant_id=tenant_id,
            endpoint_id=args.id,
            now=rt.now(),
            event_id=args.event,
            start=start,
            end=end,
        ),
    )
    emit({"queued": queued}, as_json=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hooks = sub.add_parser("webhook", help="webhook endpoints of a tenant").add_subparsers(
        required=True
    )

    def command(
        name: str, text: str, func: object, *, endpoint: bool = True
    ) -> argparse.ArgumentParser:
        p = hooks.add_parser(name, help=text)
        p.add_argument("--tenant", required=True, help="tenant id or domain")
        if endpoint:
            p.add_argument("id", help="the endpoint id")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
        return p

    p = command("add", "register an endpoint; prints its secret once", cmd_add, endpoint=False)
    p.add_argument("--url", required=True, help="https URL that receives the deliveries")
    p.add_argument("--events", help="comma-separated event types (default: every type)")
    command("list", "the tenant's endpoints", cmd_list, endpoint=False)
    p = command("show", "an endpoint with its delivery log", cmd_show)
    p.add_argument("--limit", type=int, default=50, help="attempts to show")
    command("remove", "delete an endpoint with its deliveries", cmd_remove)
    command("enable", "deliver to it again (events from now on)", cmd_enable).set_defaults(on=True)
    command("disable", "stop delivering to an endpoint", cmd_enable).set_defaults(on=False)
    command("rotate-secret", "a new secret; the old one signs too for 24 h", cmd_rotate)
    p = command("replay", "send one event, or a time range of events, again", cmd_replay)
    p.add_argument("--event", help="an event id")
    p.add_argument("--since", help="start of the range (ISO 8601 with a zone)")
    p.add_argument("--until", help="end of the range, exclusive (ISO 8601 with a zone)")
