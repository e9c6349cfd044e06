"""Every report figure equals a recount from the audit trail, on SQLite and PostgreSQL.

The data is made by the real use-cases at chosen times: invitations (some re-invited, which
revokes the pending one), accepts, declines and revokes through the redemption and
invitation services, sign-in attempts through the sign-in service. The recount reads only
the tenant's audit records (invitation.create/reinvite/accept/decline/revoke, signin.*)
and derives each figure in Python with its own rules.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from guestgate.adapters.sealing import Sealer
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain import redemption as redeem_rules
from guestgate.domain import reports as rules
from guestgate.domain.audit import AuditRecord
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.errors import ValidationError
from guestgate.services import redemption, reports, signin, tenants
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory

pytestmark = pytest.mark.anyio
UowFactory = Callable[..., SqlUnitOfWork]
SEALER = Sealer(secrets.token_bytes(32))
NOW = datetime(2026, 6, 30, 12, 0, 0, 250_000, tzinfo=UTC)
LIFETIME = timedelta(days=30)  # a new tenant's invitation lifetime
REQUESTERS = [
    "ann@contoso.example",
    "bob@contoso.example",
    "cy@contoso.example",
    "dee@contoso.example",
    None,
]
DOMAINS = ["fabrikam.example", "northwind.example", "tailspin.example", "adatum.example"]


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Seeded:
    tenant_id: str
    user_ids: list[str] = field(default_factory=list)


async def _seed(uow: UowFactory, seed: int) -> Seeded:
    rng = random.Random(seed)
    clock = Clock()
    tenant = await tenants.create_tenant(
        uow(), name="Contoso", domains=[f"c{uuid.uuid4().hex[:8]}.example"], now=NOW
    )
    actor = Actor(tenant_id=tenant.id, app_id=None)
    directory = LocalDirectory(
        uow, sealer=SEALER, public_url="https://gg.test", cursor_key=b"k" * 32, now=clock
    )
    service = InvitationService(
        directory, Governance(sealer=SEALER, directory="local"), wake=lambda: None
    )
    seeded = Seeded(tenant.id)

    async def invite(email: str, at: datetime, requester: str | None) -> Any:
        clock.at = at
        return await service.invite(
            actor, build_invite_request(email=email, requested_by=requester)
        )

    for n in range(70):
        created = NOW - timedelta(days=rng.uniform(0, 200), microseconds=rng.randrange(10**6))
        email = f"g{n}.{uuid.uuid4().hex[:6]}@{rng.choice(DOMAINS)}"
        view = await invite(email, created, rng.choice(REQUESTERS))
        seeded.user_ids.append(view.user_id)
        fate = rng.choice(["accept", "accept", "accept", "decline", "revoke", "reinvite", "wait"])
        later = created + timedelta(seconds=rng.uniform(1, 28 * 86400))
        if later >= NOW:
            fate = "wait"
        if fate in ("accept", "decline"):
            session = await _verified_session(uow, view.id, later)
            if fate == "accept":
                await redemption.accept(uow(), session_id=session, now=later, request_id=None)
            else:
                await redemption.decline(
                    uow(), session_id=session, sealer=SEALER, now=later, request_id=None
                )
        elif fate == "revoke":
            clock.at = later
            await service.revoke(actor, view.id)
        elif fate == "reinvite":
            await invite(email, later, rng.choice(REQUESTERS))
        if rng.random() < 0.6:  # sign-in attempts: the last one recorded is the last sign-in
            for _ in range(rng.randint(1, 3)):
                moment = NOW - timedelta(days=rng.uniform(0, 400))
                async with uow() as work:
                    await signin.record_attempt(
                        work,
                        tenant_id=tenant.id,
                        user_id=view.user_id,
                        app_id=str(uuid.uuid4()),
                        reason="test",
                        now=moment,
                        request_id=None,
                    )
                    await work.commit()
    # The edges: a sign-in exactly 31, 91 and 181 days ago, and just after each.
    for days, extra in ((31, 0), (31, 1), (91, 0), (91, 1), (181, 0), (181, 1), (0, 0)):
        view = await invite(f"edge{days}.{extra}.{uuid.uuid4().hex[:6]}@adatum.example", NOW, None)
        async with uow() as work:
            await signin.record_attempt(
                work,
                tenant_id=tenant.id,
                user_id=view.user_id,
                app_id=str(uuid.uuid4()),
                reason="edge",
                now=NOW - timedelta(days=days) + timedelta(microseconds=extra),
                request_id=None,
            )
            await work.commit()
    return seeded


async def _verified_session(uow: UowFactory, invitation_id: str, now: datetime) -> str:
    session_id, verified_id = redeem_rules.new_session_id(), redeem_rules.new_session_id()
    async with uow() as work:
        await work.redeem_sessions.add(
            session_hash=redeem_rules.session_hash(session_id),
            invitation_id=invitation_id,
            now=iso(now),
            expires_at=iso(now + timedelta(hours=1)),
        )
        await work.redeem_sessions.verify(
            redeem_rules.session_hash(session_id),
            new_hash=redeem_rules.session_hash(verified_id),
            now=iso(now),
        )
        await work.commit()
    return verified_id


@dataclass
class Recounted:
    invitation_id: str
    user_id: str
    email: str
    requester: str | None
    created: datetime
    status: str = "PendingAcceptance"
    accepted: datetime | None = None


def _recount(records: list[AuditRecord]) -> tuple[list[Recounted], dict[str, datetime | None]]:
    """The invitations and the guests' last sign-ins, from the audit records alone."""
    invitations: dict[str, Recounted] = {}
    guests: dict[str, datetime | None] = {}
    for record in sorted(records, key=lambda r: r.id):
        details = record.details or {}
        at = parse_iso(record.created_at)
        if record.action in ("invitation.create", "invitation.reinvite"):
            assert record.target is not None
            for earlier in invitations.values():  # a re-invite revokes the pending one
                if earlier.user_id == record.target and earlier.status == "PendingAcceptance":
                    earlier.status = "Revoked"
            invitations[details["invitationId"]] = Recounted(
                details["invitationId"], record.target, details["email"], record.actor, at
            )
            guests.setdefault(record.target, None)
        elif record.action == "invitation.accept":
            invitations[details["invitationId"]].status = "Completed"
            invitations[details["invitationId"]].accepted = at
        elif record.action == "invitation.decline":
            invitations[details["invitationId"]].status = "Declined"
        elif record.action == "invitation.revoke":
            invitations[details["invitationId"]].status = "Revoked"
        elif record.action.startswith("signin.") and record.target is not None:
            guests[record.target] = at
    return list(invitations.values()), guests


def _state(invitation: Recounted) -> str:
    if invitation.status == "PendingAcceptance" and invitation.created + LIFETIME <= NOW:
        return "Expired"
    return invitation.status


async def _audit(uow: UowFactory, tenant_id: str) -> list[AuditRecord]:
    async with uow(write=False) as work:
        return list(await work.audit.list(tenant_id, limit=100_000))


WINDOWS = [
    (None, None),  # the last 90 days
    ("2026-01-01", "2026-07-01"),
    ("2026-03-15T06:30:00+02:00", "2026-05-02T00:00:00Z"),
]


@pytest.fixture
async def seeded(uow: UowFactory) -> tuple[Seeded, list[Recounted], dict[str, datetime | None]]:
    data = await _seed(uow, seed=21)
    invitations, guests = _recount(await _audit(uow, data.tenant_id))
    return data, invitations, guests


@pytest.mark.parametrize("span", WINDOWS)
async def test_summary_equals_a_recount_from_the_audit_trail(
    uow: UowFactory, seeded: Any, span: tuple[str | None, str | None]
) -> None:
    data, invitations, _ = seeded
    window = rules.parse_window(*span, now=NOW)
    found = await reports.summary(
        uow(write=False), tenant_id=data.tenant_id, window=window, now=NOW
    )
    inside = [i for i in invitations if window.start <= i.created < window.end]
    states = Counter(_state(i) for i in inside)
    assert found.invited == len(inside) > 0
    assert {k: v for k, v in found.by_state.items() if v} == dict(states)
    assert found.accepted == states["Completed"] > 0
    assert found.acceptance_rate == round(states["Completed"] / len(inside), 4)
    waits = sorted(
        round((i.accepted - i.created) / timedelta(microseconds=1))
        for i in inside
        if i.accepted is not None
    )
    for p in (50, 90):
        k = -(-p * len(waits) // 100)  # the nearest rank: ceil(p% of n)
        assert found.time_to_accept[p] == waits[k - 1] / 1_000_000, p


@pytest.mark.parametrize("by", ["requester", "domain"])
@pytest.mark.parametrize("bucket", ["day", "week"])
@pytest.mark.parametrize("top", [2, 10])
async def test_breakdowns_equal_a_recount_from_the_audit_trail(
    uow: UowFactory, seeded: Any, by: str, bucket: str, top: int
) -> None:
    data, invitations, _ = seeded
    window = rules.parse_window("2026-02-11T08:00:00Z", "2026-06-30T00:00:00Z", now=NOW)
    found = await reports.breakdown(
        uow(write=False), tenant_id=data.tenant_id, by=by, window=window, bucket=bucket, top=top
    )
    inside = [i for i in invitations if window.start <= i.created < window.end]

    def key(i: Recounted) -> str:
        return (i.requester or "") if by == "requester" else i.email.split("@", 1)[1]

    def first_day(moment: datetime) -> date:
        day = moment.date()
        return day - timedelta(days=day.weekday()) if bucket == "week" else day

    totals = Counter(key(i) for i in inside)
    leaders = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    assert found.total == len(inside)
    assert found.buckets[0] == first_day(window.start)
    assert found.buckets[-1] == first_day(window.end - timedelta(microseconds=1))
    counts: dict[str | None, Counter[date]] = defaultdict(Counter)
    for i in inside:
        name = key(i)
        counts[name if name in dict(leaders) else None][first_day(i.created)] += 1
    expected = [(k, n, [counts[k][d] for d in found.buckets]) for k, n in leaders]
    if counts[None]:
        others = [counts[None][d] for d in found.buckets]
        expected.append((None, sum(others), others))
    assert [(s.key, s.total, list(s.counts)) for s in found.series] == expected


@pytest.mark.parametrize("days", [0, 7, 30, 45, 120])
async def test_pending_report_equals_a_recount_and_pages_by_keyset(
    uow: UowFactory, seeded: Any, days: int
) -> None:
    data, invitations, _ = seeded
    cut = NOW - timedelta(days=days)
    expected = sorted(
        (i for i in invitations if i.status == "PendingAcceptance" and i.created < cut),
        key=lambda i: (iso(i.created), i.invitation_id),
    )
    shown: list[reports.PendingRow] = []
    after = None
    while True:
        page = await reports.pending(
            uow(write=False), tenant_id=data.tenant_id, days=days, now=NOW, after=after, limit=4
        )
        assert page.total == len(expected)
        assert page.expired == sum(_state(i) == "Expired" for i in expected)
        assert len(page.rows) <= 4
        shown += page.rows
        if page.next_after is None:
            break
        after = page.next_after
    assert [r.invitation_id for r in shown] == [i.invitation_id for i in expected]
    for row, invitation in zip(shown, expected, strict=True):
        assert row.email == invitation.email
        assert row.requested_by == invitation.requester
        assert row.expired == (_state(invitation) == "Expired")
        assert row.days == (NOW - invitation.created) // timedelta(days=1) >= days


async def test_sign_in_buckets_equal_a_recount_with_gt365_edges(
    uow: UowFactory, seeded: Any
) -> None:
    data, _, guests = seeded
    found = await reports.sign_ins(uow(write=False), tenant_id=data.tenant_id, now=NOW)

    def category(last: datetime | None) -> str:
        # GT365's Power Query: LastLoginDays = -1 without a sign-in, else whole days.
        days = -1 if last is None else (NOW - last).days
        if days < 0:
            return "0 (No Login)"
        if days < 31:
            return "1 (0-30 days)"
        if days < 91:
            return "2 (30-90 days)"
        if days < 181:
            return "3 (90-180 days)"
        return "4 (>180 days)"

    expected = Counter(category(last) for last in guests.values())
    assert found.counts == {name: expected[name] for name in rules.SIGN_IN_CATEGORIES}
    assert found.total == len(guests) == len(set(data.user_ids)) + 7
    assert all(found.counts.values())


async def test_reports_of_another_tenant_count_nothing(uow: UowFactory, seeded: Any) -> None:
    other = await tenants.create_tenant(
        uow(), name="Other", domains=[f"o{uuid.uuid4().hex[:8]}.example"], now=NOW
    )
    window = rules.parse_window("2025-08-01", "2026-07-01", now=NOW)
    summary = await reports.summary(uow(write=False), tenant_id=other.id, window=window, now=NOW)
    assert summary.invited == 0
    assert summary.acceptance_rate is None
    assert summary.time_to_accept == {50: None, 90: None}
    signs = await reports.sign_ins(uow(write=False), tenant_id=other.id, now=NOW)
    assert signs.total == 0
    pending = await reports.pending(
        uow(write=False), tenant_id=other.id, days=0, now=NOW, after=None, limit=10
    )
    assert (pending.total, pending.rows) == (0, ())
    split = await reports.breakdown(
        uow(write=False), tenant_id=other.id, by="domain", window=window, bucket="week", top=5
    )
    assert split.total == 0
    assert split.series == ()


@pytest.mark.parametrize(
    ("start", "end", "name"),
    [
        ("yesterday", None, "from"),
        (None, "2026-13-01", "to"),
        ("2026-03-01T10:00:00", None, "from"),  # no zone
        ("2026-05-01", "2026-04-01", "from"),
        ("2020-01-01", "2026-01-01", "from"),  # longer than two years
        ("1999-12-31", "2000-01-02", "from"),
        ("x" * 100, None, "from"),
    ],
)
def test_a_bad_window_names_its_parameter(start: str | None, end: str | None, name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rules.parse_window(start, end, now=NOW)
    assert caught.value.message.startswith(f"{name}: ")
    assert caught.value.code == "InvalidReportParameter"
