"""Governance: the rules every invitation follows, in local and in Microsoft 365 mode alike.

This is the one place for a rule about invitations. `policy` and `check` are the gate every
invitation passes (the GT365 API, bulk, the Graph-compatible surface, the console and the CLI
all come through `InvitationService`, which hands the gate to the directory; see
services/directory.py for where each mode runs it): a rule that refuses an invitation raises
there, before anything is written, and nothing is stored or sent. `record` is what guestgate
keeps of every change a directory made (the audit trail, the requester's notification, and
the events); it runs inside the directory's write transaction, so the change and its records
are stored together or not at all.

Who is mailed: `requestedBy` is any address a caller names, so guestgate mails it only when it
belongs to the organization: a member of the tenant, or an address on one of the tenant's own
domains (or a subdomain). Any other requester is stored and audited, never mailed. This is
judged on what guestgate's database knows of the tenant; in Microsoft 365 mode it holds
neither the tenant's verified domains nor its members, so there no requester is mailed. A
bulk call tells each requester once, in one summary, after its invitations are made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from guestgate.domain import events as event_types
from guestgate.domain import invitation_policy as policy_rules
from guestgate.domain.approvals import ApprovalRequest
from guestgate.domain.apps import READWRITE_USERS, grants
from guestgate.domain.emails import EmailAddress, domain_matches
from guestgate.domain.invitation_policy import InvitationPolicy
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.messages import NOTICE_APPROVED, RequesterNotification, RequesterSummary
from guestgate.domain.timestamps import iso, utcnow
from guestgate.domain.users import MEMBER
from guestgate.errors import ApprovalRequired, PermissionDenied, ValidationError
from guestgate.services import events, outbox
from guestgate.services.directory import (
    Actor,
    Change,
    Invited,
    IsMember,
    Resent,
    Revoked,
    UserDeleted,
)
from guestgate.services.invitation_policies import (
    DOMAIN_NOT_ALLOWED,
    INVITER_NOT_ALLOWED,
    get_policy,
)
from guestgate.services.ports import Sealer, UnitOfWork
from guestgate.services.requesters import requester_belongs

# What the audit trail says about the requester's notice (details.requesterNotice).
QUEUED, IN_SUMMARY, WITHHELD = "queued", "summary", "withheld"


class Governance:
    def __init__(
        self,
        *,
        sealer: Sealer,
        directory: str,
        uow: Callable[..., UnitOfWork] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sealer = sealer
        self.directory = directory  # recorded with every audit event
        # A unit of work and clock of its own, for what follows a bulk call (its summary).
        self.uow = uow
        self.now = now

    # The invitation gate (directory.Gate): every invitation passes it before anything is
    # stored. The request's own fields were validated when it was built
    # (domain/invitations.py); rules about who may invite whom raise here.

    async def policy(self, uow: UnitOfWork, actor: Actor) -> InvitationPolicy:
        return await get_policy(uow, actor.tenant_id)

    async def check(
        self,
        actor: Actor,
        request: InviteRequest,
        policy: InvitationPolicy,
        is_member: IsMember,
        *,
        approved: bool = False,
    ) -> None:
        """The tenant's invitation policy (docs/governance.md): the guest's domain against the
        allow or block list, then `allowInvitesFrom` against the person in `requestedBy`
        (an app calling alone is judged by its permission); then the app's permission to
        invite members; last, whether it waits for an approver (not once `approved`)."""
        refusal = policy_rules.domain_refusal(policy, request.email.domain)
        if refusal is not None:
            raise PermissionDenied(refusal, code=DOMAIN_NOT_ALLOWED)
        setting = policy.allow_invites_from
        requester = request.requested_by
        member = False
        if requester is not None and setting == policy_rules.ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS:
            member = await is_member(requester)
        refusal = policy_rules.inviter_refusal(
            setting, requester=None if requester is None else requester.address, member=member
        )
        if refusal is not None:
            raise PermissionDenied(refusal, code=INVITER_NOT_ALLOWED)
        if (
            request.user_type == MEMBER
            and actor.permissions is not None
            and not grants(actor.permissions, READWRITE_USERS)
        ):
            raise ValidationError(
                "Inviting members needs an administrator permission (User.ReadWrite.All).",
                code="InvitedUserTypeNotAllowed",
            )
        if not approved and policy_rules.approval_needed(policy, request.email.domain):
            raise ApprovalRequired(policy.approval.days)

    async def record(
        self,
        uow: UnitOfWork,
        actor: Actor,
        change: Change,
        now: datetime,
        *,
        bulk: bool = False,
        approval: ApprovalRequest | None = None,
    ) -> bool:
        """Audit the change and queue what it owes others; True when mail was queued.
        In a bulk call (`bulk`) the requester is told later, once, by `summarize`; for an
        invitation an approver let through (`approval`), the notice says so."""
        stamp = iso(now)
        details: dict[str, Any]
        match change:
            case Invited(view=view, request=request, created=created):
                action = "invitation.create" if created else "invitation.reinvite"
                target, requester = view.user_id, view.requested_by
                details = {"invitationId": view.id, "email": request.email.ascii_address}
                if request.more:
                    details["more"] = request.more
                if approval is not None:
                    details["approvalId"] = approval.id
            case Resent(view=view):
                action, target, requester = "invitation.resend", view.user_id, None
                details = {"invitationId": view.id}
            case Revoked(view=view):
                action, target, requester = "invitation.revoke", view.user_id, None
                details = {"invitationId": view.id}
            case UserDeleted(user_id=user_id, email=email):
                action, target, requester = "user.delete", user_id, None
                details = {"email": email}
        details["directory"] = self.directory
        if actor.user is not None and requester is not None:
            details["requestedBy"] = requester  # the actor column names the signed-in person
        notice = None
        if isinstance(change, Invited) and change.request.requested_by is not None:
            if not await self.may_notify(
                uow, actor, change.request.requested_by, change.organization_domains
            ):
                notice = WITHHELD
            else:
                notice = IN_SUMMARY if bulk else QUEUED
            details["requesterNotice"] = notice
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            actor=actor.user or requester,
            action=action,
            target=target,
            request_id=actor.request_id,
            created_at=stamp,
            details=details,
        )
        event_type, data = _event(change)
        data |= event_types.actor_data(actor.app_id or None, actor.request_id)
        await events.emit(uow, tenant_id=actor.tenant_id, event_type=event_type, data=data, now=now)
        if notice == QUEUED:
            assert isinstance(change, Invited)
            await self._notify_requester(uow, actor, change, now, approval)
            return True
        return False

    async def record_bulk(
        self, uow: UnitOfWork, actor: Actor, change: Change, now: datetime
    ) -> bool:
        """`record` for one invitation of a bulk call."""
        return await self.record(uow, actor, change, now, bulk=True)

    async def may_notify(
        self,
        uow: UnitOfWork,
        actor: Actor,
        requester: EmailAddress,
        domains: tuple[str, ...] = (),
    ) -> bool:
        """Whether the requester belongs to the organization: an address on one of the
        tenant's domains, or a member of the tenant (not a guest, nor a pending invitee).
        The rule is services/requesters.py's, which a guest's decline follows too. In
        Microsoft 365 mode the tenant lives in Entra: `domains` are its verified domains,
        as the directory read them from Graph, and only those count."""
        tenant = await uow.tenants.get(actor.tenant_id, links=False)
        if tenant is None:
            return domain_matches(requester.domain, domains)
        return await requester_belongs(uow, tenant, requester)

    async def summarize(
        self,
        actor: Actor,
        invited: Sequence[tuple[EmailAddress, str]],
    ) -> bool:
        """After a bulk call: one mail to each requester who may be told, listing the guests
        (`(requester, guest address)` pairs) invited at their request. True when mail was
        queued. The invitations are already stored; this is a transaction of its own."""
        if not invited:
            return False
        assert self.uow is not None, "bulk calls need Governance(uow=...)"
        async with self.uow() as uow:
            queued = await self.summarize_in(uow, actor, invited)
            await uow.commit()
        return queued

    async def summarize_in(
        self,
        uow: UnitOfWork,
        actor: Actor,
        invited: Sequence[tuple[EmailAddress, str]],
        *,
        held: Sequence[tuple[EmailAddress, str]] = (),
    ) -> bool:
        """`summarize` inside the caller's transaction (a bulk job's, which records with it
        that its requesters were told, so they are told once); `held`, the guests of the
        job that wait for an approver, listed apart."""
        by_requester: dict[str, tuple[EmailAddress, list[str], list[str]]] = {}
        for requester, guest in invited:
            by_requester.setdefault(requester.key, (requester, [], []))[1].append(guest)
        for requester, guest in held:
            by_requester.setdefault(requester.key, (requester, [], []))[2].append(guest)
        if not by_requester:
            return False
        queued = False
        tenant = await uow.tenants.get(actor.tenant_id)  # read fresh: its logo is shown
        for requester, guests, waiting in by_requester.values():
            if tenant is None or not await self.may_notify(uow, actor, requester):
                continue
            summary = RequesterSummary(
                to=requester.address,
                org=tenant.name,
                guests=tuple(guests),
                logo_url=tenant.logo_url,
                held=tuple(waiting),
            )
            await outbox.enqueue(
                uow,
                sealer=self.sealer,
                tenant_id=actor.tenant_id,
                message=summary,
                now=self.now(),
            )
            queued = True
        return queued

    async def _notify_requester(
        self,
        uow: UnitOfWork,
        actor: Actor,
        change: Invited,
        now: datetime,
        approval: ApprovalRequest | None = None,
    ) -> None:
        requester = change.request.requested_by
        assert requester is not None
        tenant = await uow.tenants.get(actor.tenant_id)  # read fresh: its logo is shown
        notification = RequesterNotification(
            to=requester.address,
            org=change.organization,
            guest=change.request.email.address,
            logo_url=None if tenant is None else tenant.logo_url,
        )
        if approval is not None:
            notification = replace(notification, outcome=NOTICE_APPROVED, comment=approval.comment)
        await outbox.enqueue(
            uow, sealer=self.sealer, tenant_id=actor.tenant_id, message=notification, now=now
        )


def _event(change: Change) -> tuple[str, dict[str, Any]]:
    """The event a change owes webhooks and the feed: ids only, never a link or ticket."""
    match change:
        case Invited(view=view, request=request, created=created):
            data = {"invitationId": view.id, "userId": view.user_id, "newUser": created}
            data["invitedUserEmailAddress"] = request.email.address
            return event_types.INVITATION_CREATED, data
        case Resent(view=view):
            return event_types.INVITATION_RESENT, {"invitationId": view.id, "userId": view.user_id}
        case Revoked(view=view):
            return event_types.INVITATION_REVOKED, {"invitationId": view.id, "userId": view.user_id}
        case UserDeleted(user_id=user_id):
            return event_types.USER_DELETED, {"userId": user_id}
