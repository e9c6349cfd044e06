"""Console role commands: assign, remove, list (thin over services/roles.py)."""

from __future__ import annotations

import argparse
from typing import Any

from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain.roles import ROLES, parse_role
from guestgate.services import roles
from guestgate.services.roles import Held


def _answer(held: Held) -> dict[str, Any]:
    return {
        "user": held.email,
        "userId": held.assignment.user_id,
        "name": held.display_name,
        "role": held.assignment.role,
        "assigned": held.assignment.assigned_at,
    }


def cmd_assign(settings: Settings, args: argparse.Namespace) -> None:
    held, added = run(
        settings,
        lambda rt: roles.assign(
            rt.uow(), tenant_ref=args.tenant, email=args.user, role=args.role, now=rt.now()
        ),
    )
    emit(_answer(held) | {"changed": added}, as_json=args.json)


def cmd_remove(settings: Settings, args: argparse.Namespace) -> None:
    run(
        settings,
        lambda rt: roles.remove(
            rt.uow(), tenant_ref=args.tenant, email=args.user, role=args.role, now=rt.now()
        ),
    )
    emit({"user": args.user, "role": parse_role(args.role), "removed": True}, as_json=args.json)


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    held = run(settings, lambda rt: roles.list_roles(rt.uow(write=False), tenant_ref=args.tenant))
    emit([_answer(h) for h in held], as_json=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("role", help="who may use the admin console, and how")
    commands = group.add_subparsers(dest="role_command", required=True, metavar="COMMAND")
    for name, func, text in (
        ("assign", cmd_assign, "give a member a console role"),
        ("remove", cmd_remove, "take a console role from a member"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--tenant", required=True, help="tenant id or domain")
        command.add_argument("--user", required=True, metavar="EMAIL", help="the member's address")
        command.add_argument("--role", required=True, help=f"one of: {', '.join(ROLES)}")
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)
    listing = commands.add_parser("list", help="the tenant's role assignments")
    listing.add_argument("--tenant", required=True, help="tenant id or domain")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
