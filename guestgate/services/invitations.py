"""The invitation use-cases every entry point calls: the API routes, the CLI, bulk.

`InvitationService` is the same in both modes: it hands every request to the tenant's
directory (local or Microsoft 365) with governance's gate, which the directory runs before it
writes anything (services/directory.py), lets governance record each change inside the
directory's transaction, and wakes the mail worker when mail was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime

from guestgate import metrics
from guestgate.domain.emails import EmailAddress
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.views import InvitationPage, InvitationQuery, InvitationView
from guestgate.errors import ApprovalRequired, GuestgateError
from guestgate.services.approvals import AlsoHeld, ApprovalService
from guestgate.services.directory import Actor, Change, Directory, Invited, Record
from guestgate.services.governance import Governance
from guestgate.services.ports import UnitOfWork

# What a bulk job writes in an invitation's own transaction: the job's row, marked done.
Also = Callable[[UnitOfWork, InvitationView, datetime], Awaitable[None]]

log = logging.getLogger("guestgate.invitations")


class InvitationService:
    def __init__(
        self, directory: Directory, governance: Governance, *, wake: Callable[[], None]
    ) -> None:
        self.directory = directory
        self.governance = governance
        self.wake = wake  # the mail worker: there is mail to send
        # Where invitations the policy holds for an approver wait (set by bootstrap).
        self.approvals: ApprovalService | None = None

    async def invite(self, actor: Actor, request: InviteRequest) -> InvitationView:
        """Invite one address as a guest; the answer carries the new redeem link."""
        return await self._invite(actor, request, self.governance.record)

    async def _invite(
        self,
        actor: Actor,
        request: InviteRequest,
        record: Record,
        *,
        also_held: AlsoHeld | None = None,
    ) -> InvitationView:
        try:
            outcome = await self.directory.invite(
                actor, request, gate=self.governance, record=record
            )
        except ApprovalRequired as held:
            # The directory stored nothing; the request waits, and the caller hears 202.
            if self.approvals is None:
                raise RuntimeError("approval rules need InvitationService.approvals") from None
            raise await self.approvals.hold(actor, request, held.days, also=also_held) from None
        metrics.invitation_created()
        if outcome.mailed:
            self.wake()
        return outcome.view

    async def invite_in_job(
        self, actor: Actor, request: InviteRequest, *, also: Also, also_held: AlsoHeld
    ) -> InvitationView:
        """One invitation of a bulk job (services/bulk.py): `also` runs inside the
        invitation's transaction, and may raise to undo it; the requester is told later,
        in the job's one summary. An invitation the policy holds for an approver raises
        PendingApproval; `also_held` runs inside that request's transaction."""

        async def record(uow: UnitOfWork, who: Actor, change: Change, now: datetime) -> bool:
            mailed = await self.governance.record_bulk(uow, who, change, now)
            if isinstance(change, Invited):
                await also(uow, change.view, now)
            return mailed

        return await self._invite(actor, request, record, also_held=also_held)

    async def invite_many(
        self, actor: Actor, requests: Sequence[InviteRequest | GuestgateError]
    ) -> list[InvitationView | GuestgateError]:
        """Each invitation on its own, in order; one's failure is its own answer. Each
        requester gets one summary of the guests invited for them, not a mail per guest."""
        results: list[InvitationView | GuestgateError] = []
        invited: list[tuple[EmailAddress, str]] = []
        for request in requests:
            if isinstance(request, GuestgateError):
                results.append(request)
                continue
            try:
                # A client retries a whole batch when an entry failed: the entries already
                # invited answer with their invitation and are not mailed again.
                retried = replace(request, retry_safe=True)
                view = await self._invite(actor, retried, self.governance.record_bulk)
            except GuestgateError as exc:
                results.append(exc)
                continue
            except Exception:
                # Earlier entries are committed: a 500 for the call would hide them, and a
                # retrying client would invite them again. This entry alone failed.
                log.exception("bulk entry failed", extra={"index": len(results)})
                results.append(GuestgateError("An unexpected error occurred; it was logged."))
                continue
            results.append(view)
            if request.requested_by is not None:
                invited.append((request.requested_by, view.email))
        if invited and await self.governance.summarize(actor, invited):
            self.wake()
        return results

    async def get(self, actor: Actor, invitation_id: str) -> InvitationView:
        """One invitation of the caller's tenant."""
        return await self.directory.get(actor, invitation_id)

    async def list(self, actor: Actor, query: InvitationQuery) -> InvitationPage:
        """The tenant's invitations, newest first, by status and address."""
        return await self.directory.list(actor, query)

    async def resend(self, actor: Actor, invitation_id: str) -> InvitationView:
        """A new redeem link for a pending invitation, mailed again; the old link stops."""
        outcome = await self.directory.resend(actor, invitation_id, record=self.governance.record)
        if outcome.mailed:
            self.wake()
        return outcome.view

    async def revoke(self, actor: Actor, invitation_id: str) -> InvitationView:
        """The invitation's link stops working."""
        outcome = await self.directory.revoke(actor, invitation_id, record=self.governance.record)
        return outcome.view

    async def delete_user(self, actor: Actor, ref: str) -> None:
        """Delete an invited user by id or userPrincipalName."""
        await self.directory.delete_user(actor, ref, record=self.governance.record)
