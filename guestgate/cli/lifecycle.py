"""Guest lifecycle commands: list, create, update and evaluate (the dry run), thin over
services/lifecycle.py."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.cli.policy import _tenant_id
from guestgate.config import Settings
from guestgate.domain.lifecycle import LifecyclePolicy, policy_json
from guestgate.domain.lifecycle_eval import DELETE, DISABLE, NOTIFY, GuestFacts, Timeline
from guestgate.errors import ValidationError
from guestgate.services import lifecycle
from guestgate.services.lifecycle import ConfirmationRequired, Who

WHO = Who(user="cli")


def _read(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"--policy: cannot read {path}: {exc}", code="InvalidJson") from None


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError("--as-of: give a date as YYYY-MM-DD.", code="InvalidDate") from None


def _row(policy: LifecyclePolicy, guest: GuestFacts, line: Timeline, as_of: date) -> dict[str, Any]:
    due = [f"{s} {d.isoformat()}" for s, d in line.steps() if d <= as_of]
    return {
        "policy": policy.id,
        "guest": guest.user_id,
        "mail": guest.mail,
        "rule": line.rule,
        "nonCompliantOn": line.noncompliant_on.isoformat(),
        "notices": [d.isoformat() for d in line.notices],
        "disableOn": line.disable_on.isoformat() if line.disable_on else None,
        "deleteOn": line.delete_on.isoformat() if line.delete_on else None,
        "dueByAsOf": due,
    }


def _refusal(exc: ConfirmationRequired) -> None:
    print("This change would act at once (repeat with --confirm to apply it):", file=sys.stderr)
    for step in exc.steps:
        guest = exc.guests[step.user_id]
        print(f"  {step.step} {guest.mail} ({step.user_id}) due {step.due_on}", file=sys.stderr)


def cmd_evaluate(settings: Settings, args: argparse.Namespace) -> None:
    """Who each policy (or the draft in --policy) would notify, disable and delete, and when."""
    tenant_id = _tenant_id(settings, args.tenant)
    as_of = _as_of(args.as_of)

    async def work(rt: Any) -> list[dict[str, Any]]:
        if args.policy:
            chosen = [lifecycle.draft_policy(_read(args.policy), tenant_id=tenant_id, now=rt.now())]
        else:
            chosen = [p for p in await lifecycle.list_policies(rt.uow(write=False), tenant_id)]
        rows = []
        for policy in chosen:
            for guest, line in await lifecycle.timelines(rt.guest_facts, policy):
                if line.steps()[0][1] <= as_of or args.all:
                    rows.append(_row(policy, guest, line, as_of))
        return rows

    rows = run(settings, work, connect_graph=True)
    if args.json:
        emit({"asOf": as_of.isoformat(), "value": rows}, as_json=True)
        return
    table = [
        {
            "guest": r["mail"],
            "rule": r["rule"],
            NOTIFY: " ".join(r["notices"]),
            DISABLE: r["disableOn"] or "",
            DELETE: r["deleteOn"] or "",
            "due by as-of": ", ".join(r["dueByAsOf"]),
        }
        for r in rows
    ]
    emit(rows, as_json=False, table=table)


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    found = run(settings, lambda rt: lifecycle.list_policies(rt.uow(write=False), tenant_id))
    rows = [policy_json(p) for p in found]
    table = [
        {"id": p.id, "name": p.display_name, "enabled": p.enabled, "version": p.version}
        for p in found
    ]
    emit({"value": rows} if args.json else rows, as_json=args.json, table=table)


def cmd_create(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    raw = _read(args.policy)
    try:
        policy = run(
            settings,
            lambda rt: lifecycle.create_policy(
                rt.uow(),
                guests=rt.guest_facts,
                tenant_id=tenant_id,
                raw=raw,
                now=rt.now(),
                who=WHO,
                confirm=args.confirm,
            ),
            connect_graph=True,
        )
    except ConfirmationRequired as exc:
        _refusal(exc)
        raise
    emit(policy_json(policy), as_json=True)


def cmd_update(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    raw = _read(args.policy)
    try:
        policy = run(
            settings,
            lambda rt: lifecycle.update_policy(
                rt.uow(),
                guests=rt.guest_facts,
                tenant_id=tenant_id,
                policy_id=args.id,
                raw=raw,
                now=rt.now(),
                who=WHO,
                confirm=args.confirm,
            ),
            connect_graph=True,
        )
    except ConfirmationRequired as exc:
        _refusal(exc)
        raise
    emit(policy_json(policy), as_json=True)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("lifecycle", help="guest lifecycle policies and their dry run")
    commands = group.add_subparsers(dest="lifecycle_command", required=True, metavar="COMMAND")
    evaluate = commands.add_parser(
        "evaluate", help="who the policies (or a draft) would notify, disable, delete, and when"
    )
    evaluate.add_argument("--tenant", required=True, help="tenant id or domain")
    evaluate.add_argument("--as-of", required=True, metavar="DATE", help="YYYY-MM-DD")
    evaluate.add_argument("--policy", metavar="FILE", help="a draft policy (Graph JSON)")
    evaluate.add_argument(
        "--all", action="store_true", help="also guests whose first step is after the date"
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)
    listing = commands.add_parser("list", help="the tenant's policies")
    listing.add_argument("--tenant", required=True, help="tenant id or domain")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    for name, func, text in (
        ("create", cmd_create, "add a policy from a Graph JSON file"),
        ("update", cmd_update, "change a policy with the properties of a JSON file"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--tenant", required=True, help="tenant id or domain")
        if name == "update":
            command.add_argument("--id", required=True, help="the policy's id")
        command.add_argument("--policy", required=True, metavar="FILE")
        command.add_argument(
            "--confirm",
            action="store_true",
            help="apply a change that would disable or delete guests at once",
        )
        command.set_defaults(func=func)
