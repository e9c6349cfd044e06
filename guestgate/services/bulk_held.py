"""Bulk-job rows the invitation policy holds for an approver (docs/bulk.md, "Rows that wait
for an approver"): the check-only pass names them; a job marks each row held in the
transaction that stores its approval request (services/approvals.py `hold`), so a row is
held once, and a row reached after a cancel stores no request."""

from __future__ import annotations

from collections.abc import Callable

from guestgate.domain import bulk_csv
from guestgate.domain import invitation_policy as policy_rules
from guestgate.domain.bulk_csv import BulkFile
from guestgate.errors import GuestgateError, PendingApproval
from guestgate.services.invitation_policies import get_policy
from guestgate.services.ports import Sealer, UnitOfWork

MakeUow = Callable[..., UnitOfWork]


def held_message(held: PendingApproval) -> str:
    """A held row's message in the results file."""
    return (
        f"This invitation waits for an approver (approval request {held.request_id}); nothing"
        " was sent. Once approved, the guest is invited and mailed; follow it at the status URL"
        " in the inviteRedeemUrl column."
    )


async def mark_held(
    uow: UnitOfWork,
    sealer: Sealer,
    *,
    job_id: str,
    position: int,
    held: PendingApproval,
    context: str,
    now: str,
) -> bool:
    """Mark the row held, its status URL sealed as a redeem link is (`context`); False when
    the row is no longer to do or its job no longer runs (the caller then undoes the hold)."""
    sealed = sealer.seal(held.status_url.encode(), context)
    return await uow.bulk_jobs.hold_row(
        job_id,
        position,
        approval_id=held.request_id,
        sealed_status_url=sealed,
        message=held_message(held),
        now=now,
    )


async def rows_needing_approval(
    make_uow: MakeUow, *, tenant_id: str, parsed: BulkFile
) -> list[int]:
    """The check-only pass: the file rows (numbers) whose guest the tenant's invitation
    policy would hold for an approver today. Nothing is stored."""
    async with make_uow(write=False) as uow:
        policy = await get_policy(uow, tenant_id)
    waiting: list[int] = []
    for row in parsed.rows:
        if row.skipped or row.error is not None:
            continue
        try:
            request = bulk_csv.request_of(parsed.columns, row.cells)
        except GuestgateError:
            continue
        domain = request.email.domain
        if policy_rules.domain_refusal(policy, domain) is None and policy_rules.approval_needed(
            policy, domain
        ):
            waiting.append(row.number)
    return waiting
