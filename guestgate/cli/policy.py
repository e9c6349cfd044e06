"""Invitation policy commands: show and set (thin over services/invitation_policies.py)."""

from __future__ import annotations

import argparse
from typing import Any

from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain import invitation_policy as rules
from guestgate.domain.invitation_policy import InvitationPolicy
from guestgate.domain.tenants import is_guid
from guestgate.errors import NotFound, ValidationError
from guestgate.services import invitation_policies as policies
from guestgate.services import tenants


def _tenant_id(settings: Settings, ref: str) -> str:
    """The tenant's id; in Microsoft 365 mode the tenant lives in Entra: its GUID then."""
    try:
        tenant = run(settings, lambda rt: tenants.get_tenant(rt.uow(write=False), ref))
    except NotFound:
        if is_guid(ref):
            return ref.lower()
        raise
    return str(tenant.id)


def policy_answer(policy: InvitationPolicy) -> dict[str, Any]:
    return {
        "tenant": policy.tenant_id,
        "mode": policy.domains.mode,
        "allowedDomains": list(policy.domains.allowed),
        "blockedDomains": list(policy.domains.blocked),
        "allowInvitesFrom": policy.allow_invites_from,
        "definition": policy.domains.definition(),
        "approval": policy.approval.to_json() if policy.approval.enabled else None,
        "updated": policy.updated_at,
    }


def _domains(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [d.strip() for d in value.split(",") if d.strip()]


def _approval(args: argparse.Namespace) -> rules.ApprovalRule | None:
    """--approval-for D,... | outside-allowed ('' clears), --approval-days N."""
    if args.approval_for is None:
        if args.approval_days is not None:
            raise ValidationError(
                "--approval-days goes with --approval-for.", code=rules.POLICY_CODE
            )
        return None
    days = rules.DEFAULT_APPROVAL_DAYS if args.approval_days is None else args.approval_days
    value: object = _domains(args.approval_for)
    if args.approval_for.strip() == "outside-allowed":
        value = rules.OUTSIDE_ALLOWED
    if value == []:
        return rules.NO_APPROVAL
    return rules.parse_approval(
        {"requiredFor": value, "requestLifetimeDays": days}, where="--approval-for"
    )


def cmd_show(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    found = run(settings, lambda rt: policies.read_policy(rt.uow(write=False), tenant_id))
    emit(policy_answer(found), as_json=args.json)


def cmd_set(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)
    allowed, blocked = _domains(args.allowed_domains), _domains(args.blocked_domains)
    approval = _approval(args)
    if allowed is None and blocked is None and args.allow_invites_from is None and not approval:
        raise ValidationError(
            "Nothing to set: give --allowed-domains, --blocked-domains, --allow-invites-from"
            " or --approval-for.",
            code="NothingToSet",
        )
    allow_invites_from = None
    if args.allow_invites_from is not None:
        allow_invites_from = rules.check_allow_invites_from(
            args.allow_invites_from, where="--allow-invites-from"
        )
    domains = None
    if allowed is not None or blocked is not None:
        current = run(settings, lambda rt: policies.read_policy(rt.uow(write=False), tenant_id))
        domains = rules.from_lists(allowed=allowed, blocked=blocked, other=current.domains.other)
    updated = run(
        settings,
        lambda rt: policies.set_policy(
            rt.uow(),
            tenant_id=tenant_id,
            now=rt.now(),
            domains=domains,
            allow_invites_from=allow_invites_from,
            approval=approval,
        ),
    )
    emit(policy_answer(updated), as_json=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("policy", help="the tenant's invitation policy")
    commands = group.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", help="the domain list and who may invite")
    show.add_argument("--tenant", required=True, help="tenant id or domain")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    change = commands.add_parser(
        "set",
        help="replace the domain list (allow or block, never both) or allowInvitesFrom",
    )
    change.add_argument("--tenant", required=True, help="tenant id or domain")
    change.add_argument(
        "--allowed-domains",
        metavar="D,...",
        help="only these domains may be invited (*.contoso.com: its subdomains); '' clears",
    )
    change.add_argument(
        "--blocked-domains", metavar="D,...", help="these domains may not be invited; '' clears"
    )
    change.add_argument(
        "--allow-invites-from",
        metavar="VALUE",
        help=f"who may invite: {', '.join(rules.ALLOW_INVITES_FROM)}",
    )
    change.add_argument(
        "--approval-for",
        metavar="D,...|outside-allowed",
        help="invitations to these domains (or to any domain off the allow list) wait for an"
        " approver; '' clears",
    )
    change.add_argument(
        "--approval-days",
        type=int,
        metavar="N",
        help=f"open approval requests expire after N days (default {rules.DEFAULT_APPROVAL_DAYS})",
    )
    change.add_argument("--json", action="store_true")
    change.set_defaults(func=cmd_set)
