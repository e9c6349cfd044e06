"""Invitations that wait for an approver (docs/governance.md, "Approval").

The gate (`Governance.check`) raises `ApprovalRequired` after every other rule passed; the
invitation service then stores the request here, in a transaction of its own, and the caller
gets a 202. Deciding is one conditional UPDATE (adapters/sql/approvals.py), so a request is
decided once however many approvers press at the same moment. An approval makes the
invitation through the same directory use-case as any invite: the gate runs again (a domain
blocked since refuses it, and the request is open again), except for the approval rule.
In Microsoft 365 mode the Graph call happens after the decision's transaction committed and
before the record's, as every Graph call does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from guestgate.domain import approvals as states
from guestgate.domain.approvals import ApprovalRequest, check_comment, request_json, request_of
from guestgate.domain.emails import parse_email
from guestgate.domain.invitation_policy import InvitationPolicy
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.messages import NOTICE_LAPSED, NOTICE_REFUSED, RequesterNotification
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.errors import Conflict, NotFound, PendingApproval, PermissionDenied
from guestgate.services import outbox
from guestgate.services.directory import Actor, Change, Directory, Invited, IsMember
from guestgate.services.governance import Governance
from guestgate.services.ports import Sealer, UnitOfWork

OPEN_PAGE = 200  # the console's list of open requests
# What a bulk job writes in the request's own transaction: its row, marked held.
AlsoHeld = Callable[[UnitOfWork, PendingApproval, datetime], Awaitable[None]]


class ApprovalStore(Protocol):
    async def add(self, request: ApprovalRequest) -> None: ...
    async def get(self, tenant_id: str, request_id: str) -> ApprovalRequest | None: ...
    async def open(self, tenant_id: str, *, now: str, limit: int) -> Sequence[ApprovalRequest]: ...
    async def decide(
        self,
        tenant_id: str,
        request_id: str,
        *,
        status: str,
        now: str,
        by: str | None,
        comment: str | None,
    ) -> bool: ...
    async def reopen(self, tenant_id: str, request_id: str, *, status: str) -> bool: ...
    async def set_answer(self, request_id: str, answer: str) -> None: ...
    async def due(self, *, now: str, limit: int) -> Sequence[ApprovalRequest]: ...
    async def expire(self, request_id: str, *, now: str) -> bool: ...


class ApprovalUnitOfWork(UnitOfWork, Protocol):
    @property
    def approvals(self) -> ApprovalStore: ...


def approval_not_found(ref: str) -> NotFound:
    return NotFound(
        f"There is no approval request {ref[:64]} in this organization.",
        code="ApprovalRequestNotFound",
    )


def _answer_context(request_id: str) -> str:
    return f"approval-answer:{request_id}"


class _SkipApproval:
    """The gate for an approved request: every rule again, except the approval rule."""

    def __init__(self, governance: Governance) -> None:
        self.governance = governance

    async def policy(self, uow: UnitOfWork, actor: Actor) -> InvitationPolicy:
        return await self.governance.policy(uow, actor)

    async def check(
        self, actor: Actor, request: InviteRequest, policy: InvitationPolicy, is_member: IsMember
    ) -> None:
        await self.governance.check(actor, request, policy, is_member, approved=True)


class ApprovalService:
    def __init__(
        self,
        uow: Callable[..., ApprovalUnitOfWork],
        *,
        directory: Directory,
        governance: Governance,
        sealer: Sealer,
        public_url: str,
        now: Callable[[], datetime],
        wake: Callable[[], None],
        rng: Randomness = SYSTEM,
    ) -> None:
        self.uow = uow
        self.directory = directory
        self.governance = governance
        self.sealer = sealer
        self.public_url = public_url
        self.now = now
        self.wake = wake
        self.rng = rng

    def status_url(self, request_id: str) -> str:
        return f"{self.public_url}/api/approvals/{request_id}"

    async def hold(
        self, actor: Actor, request: InviteRequest, days: int, *, also: AlsoHeld | None = None
    ) -> PendingApproval:
        """Store the invitation for an approver; nothing is sent. Answers the 202's error.
        `also` runs inside the request's transaction, and may raise to undo it (a bulk job's
        row: the request and the row's mark commit together)."""
        now = self.now()
        held = ApprovalRequest(
            id=self.rng.uuid(),
            tenant_id=actor.tenant_id,
            status=states.PENDING,
            email=request.email.address,
            requested_by=None if request.requested_by is None else request.requested_by.address,
            sponsors=request.sponsors,
            request=request_json(request),
            app_id=actor.app_id or None,
            asked_by=actor.user,
            created_at=iso(now),
            expires_at=states.expiry(now, days),
        )
        pending = PendingApproval(request_id=held.id, status_url=self.status_url(held.id))
        async with self.uow() as uow:
            await uow.approvals.add(held)
            await self._audit(uow, actor, "approval.request", held, now)
            if also is not None:
                await also(uow, pending, now)
            await uow.commit()
        return pending

    async def get(self, tenant_id: str, request_id: str) -> ApprovalRequest:
        """One request of the tenant (404 for another tenant's)."""
        async with self.uow(write=False) as uow:
            found = await uow.approvals.get(tenant_id, request_id.lower())
        if found is None:
            raise approval_not_found(request_id)
        return found

    async def list_open(self, tenant_id: str) -> Sequence[ApprovalRequest]:
        """The tenant's open requests, oldest first."""
        async with self.uow(write=False) as uow:
            return await uow.approvals.open(tenant_id, now=iso(self.now()), limit=OPEN_PAGE)

    def answer(self, found: ApprovalRequest) -> dict[str, Any] | None:
        """The invitation's answer of an approved request, opened."""
        if found.answer is None:
            return None
        opened = self.sealer.open(found.answer, _answer_context(found.id))
        return dict(json.loads(opened))

    def check_approver(self, found: ApprovalRequest, *, admin: bool, user_id: str | None) -> None:
        """Tenant administrators decide any request; a sponsor the requester named, theirs."""
        if admin or (user_id is not None and user_id in found.sponsors):
            return
        raise PermissionDenied(
            "Only the organization's administrators (Global or User administrator) and the"
            " sponsors named in the request may decide it.",
            code="NotAnApprover",
        )

    async def approve(
        self,
        actor: Actor,
        request_id: str,
        comment: object,
        *,
        shape: Callable[[Any], dict[str, Any]],
    ) -> ApprovalRequest:
        """Approve and make the invitation (its mail too); `shape` turns the directory's view
        into the answer kept for the status URL."""
        note = check_comment(comment)
        found = await self._decide(actor, request_id, states.APPROVED, note)
        request = request_of(found.request)
        decided = replace(found, status=states.APPROVED, comment=note, decided_by=_who(actor))
        inviter = Actor(
            tenant_id=found.tenant_id,
            app_id=found.app_id,
            request_id=actor.request_id,
            tenant_name=actor.tenant_name,
            credential=actor.credential,
            user=actor.user,
        )

        async def record(uow: UnitOfWork, who: Actor, change: Change, now: datetime) -> bool:
            mailed = await self.governance.record(uow, who, change, now, approval=decided)
            if isinstance(change, Invited):
                sealed = self.sealer.seal(
                    json.dumps(shape(change.view)).encode(), _answer_context(found.id)
                )
                store: ApprovalUnitOfWork = uow  # type: ignore[assignment]
                await store.approvals.set_answer(found.id, sealed)
                await self._audit(uow, actor, "approval.approve", decided, now)
            return mailed

        try:
            outcome = await self.directory.invite(
                inviter, request, gate=_SkipApproval(self.governance), record=record
            )
        except BaseException:
            # The invitation was not made (a rule refuses it now, Graph failed): open again.
            async with self.uow() as uow:
                await uow.approvals.reopen(found.tenant_id, found.id, status=states.APPROVED)
                await uow.commit()
            raise
        if outcome.mailed:
            self.wake()
        return await self.get(found.tenant_id, found.id)

    async def decline(self, actor: Actor, request_id: str, comment: object) -> ApprovalRequest:
        """Decline with a comment; the requester is told."""
        note = check_comment(comment)
        now = self.now()
        async with self.uow() as uow:
            found = await self._claim(uow, actor, request_id, states.DECLINED, note, now)
            decided = replace(found, status=states.DECLINED, comment=note, decided_by=_who(actor))
            await self._audit(uow, actor, "approval.decline", decided, now)
            mailed = await self._tell(uow, actor, decided, NOTICE_REFUSED, now)
            await uow.commit()
        if mailed:
            self.wake()
        return await self.get(found.tenant_id, found.id)

    async def expire_due(self, *, limit: int = 100) -> int:
        """The worker's sweep: open requests past their time become Expired, once each, and
        their requesters are told. Answers how many it expired."""
        now = self.now()
        stamp = iso(now)
        async with self.uow(write=False) as uow:
            due = await uow.approvals.due(now=stamp, limit=limit)
        expired = 0
        for found in due:
            actor = Actor(tenant_id=found.tenant_id, app_id=None)
            async with self.uow() as uow:
                if not await uow.approvals.expire(found.id, now=stamp):
                    continue  # decided or swept by another worker meanwhile
                lapsed = replace(found, status=states.EXPIRED)
                await self._audit(uow, actor, "approval.expire", lapsed, now)
                await self._tell(uow, actor, lapsed, NOTICE_LAPSED, now)
                await uow.commit()
            expired += 1
        if expired:
            self.wake()
        return expired

    async def _decide(
        self, actor: Actor, request_id: str, status: str, note: str | None
    ) -> ApprovalRequest:
        async with self.uow() as uow:
            found = await self._claim(uow, actor, request_id, status, note, self.now())
            await uow.commit()
        return found

    async def _claim(
        self,
        uow: ApprovalUnitOfWork,
        actor: Actor,
        request_id: str,
        status: str,
        note: str | None,
        now: datetime,
    ) -> ApprovalRequest:
        found = await uow.approvals.get(actor.tenant_id, request_id.lower())
        if found is None:
            raise approval_not_found(request_id)
        decided = await uow.approvals.decide(
            found.tenant_id, found.id, status=status, now=iso(now), by=_who(actor), comment=note
        )
        if not decided:
            # Read again: the state the winner stored, not the one read before the UPDATE.
            latest = await uow.approvals.get(found.tenant_id, found.id)
            state = (latest or found).state(now)
            raise Conflict(
                f"This approval request is {state}; it can be decided only while it is"
                f" {states.PENDING}.",
                code="ApprovalAlreadyDecided",
            )
        return found

    async def _tell(
        self, uow: UnitOfWork, actor: Actor, found: ApprovalRequest, outcome: str, now: datetime
    ) -> bool:
        if found.requested_by is None:
            return False
        requester = parse_email(found.requested_by, field="requestedBy")
        if not await self.governance.may_notify(uow, actor, requester):
            return False
        tenant = await uow.tenants.get(found.tenant_id)
        notice = RequesterNotification(
            to=requester.address,
            org=tenant.name if tenant else (actor.tenant_name or "your organization"),
            guest=found.email,
            outcome=outcome,
            comment=found.comment,
            logo_url=None if tenant is None else tenant.logo_url,
        )
        await outbox.enqueue(
            uow, sealer=self.sealer, tenant_id=found.tenant_id, message=notice, now=now
        )
        return True

    async def _audit(
        self, uow: UnitOfWork, actor: Actor, action: str, found: ApprovalRequest, now: datetime
    ) -> None:
        details: dict[str, Any] = {"approvalId": found.id, "email": found.email}
        if found.comment is not None:
            details["comment"] = found.comment
        if found.requested_by is not None:
            details["requestedBy"] = found.requested_by
        await uow.audit.record(
            tenant_id=found.tenant_id,
            app_id=actor.app_id or None,
            actor=actor.user,
            action=action,
            target=found.id,
            request_id=actor.request_id,
            created_at=iso(now),
            details=details,
        )


def _who(actor: Actor) -> str | None:
    """Who decided, as stored: the signed-in person, else the app."""
    return actor.user or actor.app_id or None
