"""Guest commands: invite, resend, revoke, list, delete, disable, enable and restore guests,
list the deleted ones, members, the audit trail."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import graph_time, iso, parse_iso
from guestgate.domain.users import ACCEPTED, DeletedUser
from guestgate.domain.views import InvitationView
from guestgate.errors import PendingApproval
from guestgate.runtime import Runtime
from guestgate.services import tenants, users
from guestgate.services.directory import Actor


def _tenant_id(settings: Settings, ref: str) -> str:
    tenant = run(settings, lambda rt: tenants.get_tenant(rt.uow(write=False), ref))
    return str(tenant.id)


def cmd_invite(settings: Settings, args: argparse.Namespace) -> None:
    request = build_invite_request(
        email=args.email,
        redirect_url=args.redirect,
        send_message=args.send,
        display_name=args.name,
        requested_by=args.requested_by,
    )
    tenant_id = _tenant_id(settings, args.tenant)
    try:
        view = run(
            settings,
            lambda rt: rt.invitations.invite(Actor(tenant_id=tenant_id, app_id=None), request),
        )
    except PendingApproval as held:
        emit(held.to_json(), as_json=args.json)  # it waits for an approver: nothing was sent
        return
    emit(
        {
            "id": view.user_id,
            "invitedUserEmailAddress": view.email,
            "inviteRedeemUrl": view.redeem_url,
            "status": view.status,
            "sendInvitationMessage": view.send_message,
            "invitationId": view.id,
            "expiresDateTime": view.expires_at,
        },
        as_json=args.json,
    )


def invitation_json(view: InvitationView) -> dict[str, Any]:
    """An invitation as `GET /api/invitations/{id}` answers it."""
    return {
        "id": view.id,
        "invitedUser": {"id": view.user_id},
        "invitedUserEmailAddress": view.email,
        "status": view.status,
        "inviteRedirectUrl": view.redirect_url,
        "sendInvitationMessage": view.send_message,
        "requestedBy": view.requested_by,
        "more": view.more,
        "invitedUserMessageInfo": (
            None if view.message_info is None else view.message_info.to_json()
        ),
        "createdByAppId": view.created_by_app,
        "createdDateTime": view.created_at,
        "expiresDateTime": view.expires_at,
        "completedDateTime": view.completed_at,
        "revokedDateTime": view.revoked_at,
    }


def _show(invitation: dict[str, Any], *, as_json: bool) -> None:
    """As JSON, or as a table with the guest's id for its object and the rest as JSON."""
    if as_json:
        emit(invitation, as_json=True)
        return
    readable = invitation | {"invitedUser": invitation["invitedUser"]["id"]}
    emit(
        {k: json.dumps(v) if isinstance(v, dict) and v else v for k, v in readable.items()},
        as_json=False,
    )


def cmd_invitation_resend(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    view = run(
        settings,
        lambda rt: rt.invitations.resend(Actor(tenant_id=tenant_id, app_id=None), args.id),
    )
    _show(invitation_json(view) | {"inviteRedeemUrl": view.redeem_url or ""}, as_json=args.json)


def cmd_invitation_revoke(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    view = run(
        settings,
        lambda rt: rt.invitations.revoke(Actor(tenant_id=tenant_id, app_id=None), args.id),
    )
    _show(invitation_json(view), as_json=args.json)


def cmd_guests_delete(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    run(
        settings,
        lambda rt: rt.invitations.delete_user(Actor(tenant_id=tenant_id, app_id=None), args.id),
    )
    emit({"deleted": args.id}, as_json=args.json)


def cmd_guests_enabled(settings: Settings, args: argparse.Namespace) -> None:
    """`guests disable` and `guests enable`: Graph's accountEnabled, as PATCH /v1.0/users."""
    tenant_id = _tenant_id(settings, args.tenant)
    run(
        settings,
        lambda rt: rt.user_admin.set_account_enabled(
            Actor(tenant_id=tenant_id, app_id=None), args.id, args.enabled
        ),
    )
    emit({"id": args.id, "accountEnabled": args.enabled}, as_json=args.json)


def deleted_json(found: DeletedUser, *, days: int) -> dict[str, Any]:
    """A deleted guest: when it was deleted, and when the worker's retention pass removes it
    for good (`days` after, GUESTGATE_DELETED_USER_DAYS) unless it is restored."""
    purge = parse_iso(found.deleted_at) + timedelta(days=days)
    return {
        "id": found.user.id,
        "mail": found.user.mail,
        "displayName": found.user.display_name,
        "deletedDateTime": graph_time(found.deleted_at),
        "purgeDateTime": graph_time(iso(purge)),
    }


def cmd_guests_deleted(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)

    async def every(runtime: Runtime) -> list[DeletedUser]:
        actor = Actor(tenant_id=tenant_id, app_id=None)
        found: list[DeletedUser] = []
        after = None
        while True:
            page = await runtime.user_admin.deleted(actor, after=after, top=500)
            found += page[:500]
            if len(page) <= 500:
                return found
            after = (found[-1].deleted_at, found[-1].user.id)

    days = settings.mail.deleted_user_days
    rows = [deleted_json(d, days=days) for d in run(settings, every)]
    emit(
        rows,
        as_json=args.json,
        table=[
            {
                "id": r["id"],
                "address": r["mail"],
                "deleted": r["deletedDateTime"],
                "purged": r["purgeDateTime"],
            }
            for r in rows
        ],
    )


def cmd_guests_restore(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    user = run(
        settings,
        lambda rt: rt.user_admin.restore(Actor(tenant_id=tenant_id, app_id=None), args.id),
    )
    emit(
        {
            "id": user.id,
            "mail": user.mail,
            "displayName": user.display_name,
            "userPrincipalName": user.user_principal_name,
            "accountEnabled": user.account_enabled,
            "restored": True,
        },
        as_json=args.json,
    )


def cmd_guests_list(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    found = run(
        settings,
        lambda rt: users.list_guests(
            rt.uow(write=False), tenant_id=tenant_id, pending_only=args.pending
        ),
    )
    rows: list[dict[str, Any]] = [
        {
            "id": u.id,
            "mail": u.mail,
            "displayName": u.display_name,
            "state": u.external_user_state,
            "accepted": "Yes" if u.external_user_state == ACCEPTED else "No",
            "created": u.created_at[:19] + "Z",
        }
        for u in found
    ]
    emit(rows, as_json=args.json)


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    user = run(
        settings,
        lambda rt: users.create_member(
            rt.uow(), tenant_id=tenant_id, email=args.email, display_name=args.name, now=rt.now()
        ),
    )
    emit({"id": user.id, "mail": user.mail, "userType": user.user_type}, as_json=args.json)


def cmd_audit_list(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)

    async def events(runtime: Runtime) -> Any:
        async with runtime.uow(write=False) as uow:
            return await uow.audit.list(tenant_id, limit=args.limit)

    found = run(settings, events)
    emit(
        [asdict(e) for e in found],
        as_json=args.json,
        table=[
            {
                "time": e.created_at[:19] + "Z",
                "action": e.action,
                "app": e.app_id,
                "requestedBy": e.actor,
                "target": e.target,
                "request": e.request_id,
            }
            for e in found
        ],
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("invite", help="invite a guest", description="invite a guest")
    p.add_argument("email")
    p.add_argument("--tenant", required=True, help="tenant id or domain")
    p.add_argument("--name", help="display name")
    p.add_argument("--redirect", help="inviteRedirectUrl")
    p.add_argument("--send", action="store_true", help="send the invitation email")
    p.add_argument("--requested-by", help="who asked for the invitation (audited)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_invite)

    invitations = sub.add_parser("invitations", help="invitations").add_subparsers(required=True)
    for name, func, text in (
        ("resend", cmd_invitation_resend, "a new redeem link, mailed again; the old one stops"),
        ("revoke", cmd_invitation_revoke, "revoke a pending invitation: its link stops working"),
    ):
        p = invitations.add_parser(name, help=text, description=text)
        p.add_argument("id", help="invitation id")
        p.add_argument("--tenant", required=True, help="tenant id or domain")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    guests = sub.add_parser("guests", help="guests").add_subparsers(required=True)
    p = guests.add_parser("list", help="list a tenant's guests")
    p.add_argument("--tenant", required=True)
    p.add_argument("--pending", action="store_true", help="only guests who have not accepted")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_guests_list)
    text = "delete an invited user; every link of theirs stops working"
    p = guests.add_parser("delete", help=text, description=text)
    p.add_argument("id", help="the guest's user id or userPrincipalName")
    p.add_argument("--tenant", required=True, help="tenant id or domain")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_guests_delete)
    for name, enabled, text in (
        ("disable", False, "disable a guest: no redemption, no sign-in, sign-ins end"),
        ("enable", True, "enable a disabled guest again"),
    ):
        p = guests.add_parser(name, help=text, description=text)
        p.add_argument("id", help="the guest's user id or userPrincipalName")
        p.add_argument("--tenant", required=True, help="tenant id or domain")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_guests_enabled, enabled=enabled)
    text = "list the deleted guests, kept for restore (GUESTGATE_DELETED_USER_DAYS, 30)"
    p = guests.add_parser("deleted", help=text, description=text)
    p.add_argument("--tenant", required=True, help="tenant id or domain")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_guests_deleted)
    text = "restore a deleted guest with its id, sponsors and state"
    p = guests.add_parser("restore", help=text, description=text)
    p.add_argument("id", help="the deleted guest's user id")
    p.add_argument("--tenant", required=True, help="tenant id or domain")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_guests_restore)

    user = sub.add_parser("user", help="directory members").add_subparsers(required=True)
    p = user.add_parser("create", help="add a member of the organization")
    p.add_argument("--tenant", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_user_create)

    audit = sub.add_parser("audit", help="audit trail").add_subparsers(required=True)
    p = audit.add_parser("list", help="a tenant's audit events, newest first")
    p.add_argument("--tenant", required=True)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_list)
