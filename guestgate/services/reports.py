"""Reports on a tenant's invitations and guests (docs/reports.md).

Each report is one read-only transaction. The figures come from the invitations table (one
row per InviteGuest call, with its status, requester, address and times) and, for sign-ins,
from the guests in the users table with their last sign-in (sign_in_activity); both are
written in the same transactions as the audit records they agree with, which the tests
recount. Parameters arrive as the text of a query string and are checked here, so the API
and the console refuse the same things with the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from guestgate.domain import invitations as states
from guestgate.domain import reports as rules
from guestgate.domain.reports import Breakdown, Window
from guestgate.domain.timestamps import iso
from guestgate.services.ports import UnitOfWork
from guestgate.services.report_ports import ReportStore

STATES = (states.PENDING, states.EXPIRED, states.COMPLETED, states.DECLINED, states.REVOKED)
BY = ("requester", "domain")


@dataclass(frozen=True, slots=True)
class Summary:
    window: Window
    invited: int
    by_state: dict[str, int]  # every one of STATES, zeros included
    acceptance_rate: float | None  # accepted / invited
    accepted: int
    time_to_accept: dict[int, float | None]  # percentile → seconds


@dataclass(frozen=True, slots=True)
class PendingRow:
    invitation_id: str
    user_id: str
    email: str
    display_name: str
    requested_by: str | None
    created_at: str
    expires_at: str | None
    expired: bool
    days: int  # whole days pending


@dataclass(frozen=True, slots=True)
class PendingReport:
    days: int
    before: str  # created before this time
    total: int
    expired: int
    rows: tuple[PendingRow, ...]
    next_after: tuple[str, str] | None  # the keyset position of the next page


@dataclass(frozen=True, slots=True)
class SignIns:
    as_of: str
    counts: dict[str, int]  # GT365's LoginCategory → guests, in its order
    total: int


def _reports(uow: UnitOfWork) -> ReportStore:
    return uow.reports


async def summary(uow: UnitOfWork, *, tenant_id: str, window: Window, now: datetime) -> Summary:
    """Invitations created in the window by state, the acceptance rate and the time to
    accept (nearest-rank p50 and p90) of those accepted."""
    start, end = iso(window.start), iso(window.end)
    async with uow:
        store = _reports(uow)
        found = await store.outcomes(tenant_id, start=start, end=end, now=iso(now))
        accepted = found.get(states.COMPLETED, 0)
        ranks = [rules.rank(p, accepted) for p in rules.PERCENTILES]
        micros = (
            await store.accept_micros_at(
                tenant_id, start=start, end=end, ranks=ranks, accepted=accepted
            )
            if accepted
            else []
        )
    invited = sum(found.values())
    times: dict[int, float | None] = {p: None for p in rules.PERCENTILES}
    times.update({p: us / 1_000_000 for p, us in zip(rules.PERCENTILES, micros, strict=False)})
    return Summary(
        window=window,
        invited=invited,
        by_state={s: found.get(s, 0) for s in STATES}
        | {k: v for k, v in found.items() if k not in STATES},
        acceptance_rate=rules.rate(accepted, invited),
        accepted=accepted,
        time_to_accept=times,
    )


async def breakdown(
    uow: UnitOfWork, *, tenant_id: str, by: str, window: Window, bucket: str, top: int
) -> Breakdown:
    """Invitations created in the window per bucket for the `top` requesters or domains with
    the most, and the rest as one series."""
    assert by in BY
    start, end = iso(window.start), iso(window.end)
    async with uow:
        store = _reports(uow)
        leaders = await store.top_keys(tenant_id, by, start=start, end=end, limit=top)
        keys = [k for k, _ in leaders]
        per_day = await store.per_day(tenant_id, by, keys, start=start, end=end)
        totals = await store.day_totals(tenant_id, start=start, end=end)
    return rules.breakdown(window, bucket, top=leaders, per_day=per_day, day_totals=totals)


async def pending(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    days: int,
    now: datetime,
    after: tuple[str, str] | None,
    limit: int,
) -> PendingReport:
    """Invitations still pending that were created more than `days` days ago, oldest first,
    with their count and how many of them are past their expiry."""
    before = iso(now - timedelta(days=days))
    stamp = iso(now)
    async with uow:
        store = _reports(uow)
        total, expired = await store.pending_counts(tenant_id, before=before, now=stamp)
        rows = await store.pending_page(tenant_id, before=before, after=after, limit=limit + 1)
    more = len(rows) > limit
    shown = tuple(_pending_row(r, now, stamp) for r in rows[:limit])
    last = shown[-1] if more and shown else None
    return PendingReport(
        days=days,
        before=before,
        total=total,
        expired=expired,
        rows=shown,
        next_after=(last.created_at, last.invitation_id) if last else None,
    )


def _pending_row(row: dict[str, Any], now: datetime, stamp: str) -> PendingRow:
    created = datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
    expires = row["expires_at"]
    return PendingRow(
        invitation_id=row["id"],
        user_id=row["user_id"],
        email=row["email"],
        display_name=row["display_name"],
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        expires_at=expires,
        expired=expires is not None and expires <= stamp,
        days=(now - created) // timedelta(days=1),
    )


async def sign_ins(uow: UnitOfWork, *, tenant_id: str, now: datetime) -> SignIns:
    """The tenant's guests by GT365's last sign-in categories, as of now."""
    after = [iso(t) for t in rules.sign_in_thresholds(now)]
    async with uow:
        found = await _reports(uow).sign_in_counts(tenant_id, after=after)
    counts = {name: found.get(i, 0) for i, name in enumerate(rules.SIGN_IN_CATEGORIES)}
    return SignIns(as_of=iso(now), counts=counts, total=sum(counts.values()))
