"""The guest list's Pending, Expired and "pending longer than N days" pages and counts (read
from ix_users_guest_expiry and ix_users_guest_state, migration 0032) find exactly the guests
a recount in Python finds, page after page, with and without Pending guests that have no
expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.console import GuestFilter
from guestgate.domain.timestamps import iso, utcnow

pytestmark = pytest.mark.anyio

STATES = ("Pending", "Pending", "Pending", "Accepted", "Declined", "Revoked")


async def _seed(db: Database, *, unexpiring: bool) -> tuple[str, list[dict[str, object]]]:
    """A tenant's guests invited over 60 days, Pending ones with a 30-day expiry (or, with
    `unexpiring`, some with none); the rows as written."""
    rng = random.Random(7)
    now = utcnow()
    tenant_id = str(uuid.uuid4())
    guests = []
    tx = await db.begin(write=True)
    await tx.execute(
        "INSERT INTO tenants (id, name, created_at) VALUES (:id, 'T', :at)",
        {"id": tenant_id, "at": iso(now)},
    )
    for n in range(80):
        invited = now - timedelta(hours=rng.uniform(0, 60 * 24))
        state = rng.choice(STATES)
        expires = iso(invited + timedelta(days=30)) if state == "Pending" else None
        if unexpiring and state == "Pending" and n % 4 == 0:
            expires = None
        created = iso(invited - timedelta(days=rng.choice((0, 0, 5))))  # a re-invite's guest
        guest = {
            "id": str(uuid.uuid4()),
            "created": created,
            "invited": None if n % 9 == 0 else iso(invited),  # no invitation: its creation
            "state": state,
            "expires": expires,
        }
        mail = f"g{n}.{uuid.uuid4().hex[:6]}@fabrikam.example"
        await tx.execute(
            "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
            " user_principal_name, created_at, display_name_key, mail_key, upn_key,"
            " invitation_state, invitation_expires_at, invited_at) VALUES (:id, :tid, 'Guest',"
            " :m1, :m2, :m3, :m4, :created, :m5, :m6, :m7, :state, :expires, :invited)",
            {"tid": tenant_id, **{f"m{k}": mail for k in range(1, 8)}, **guest},
        )
        guests.append(guest)
    await tx.commit()
    return tenant_id, guests


def _expected(guests: list[dict[str, object]], where: GuestFilter, now: str) -> list[str]:
    def matches(g: dict[str, object]) -> bool:
        pending = g["state"] == "Pending" and (g["expires"] is None or str(g["expires"]) > now)
        expired = g["state"] == "Pending" and not pending
        if where.state == "Pending" and not pending:
            return False
        if where.state == "Expired" and not expired:
            return False
        if where.pending_days is not None:
            before = iso(utcnow() - timedelta(days=where.pending_days))
            return pending and str(g["invited"] or g["created"]) <= before
        return True

    found = [g for g in guests if matches(g)]
    found.sort(key=lambda g: (str(g["created"]), str(g["id"])), reverse=True)
    return [str(g["id"]) for g in found]


@pytest.mark.parametrize("unexpiring", [False, True])
async def test_pending_expired_and_pending_longer_than_find_what_a_recount_finds(
    db: Database, unexpiring: bool
) -> None:
    tenant_id, guests = await _seed(db, unexpiring=unexpiring)
    wheres = [GuestFilter(state="Pending", top=7), GuestFilter(state="Expired", top=7)]
    wheres += [GuestFilter(pending_days=d, top=7) for d in (0, 1, 10, 29, 30, 45)]
    wheres += [GuestFilter(state="Pending", pending_days=10, top=7)]
    wheres += [GuestFilter(pending_days=5, top=7, descending=False)]
    results = []
    for where in wheres:
        now = iso(utcnow())
        expected = _expected(guests, where, now)
        if not where.descending:
            expected.reverse()
        listed: list[str] = []
        async with SqlUnitOfWork(db, write=False) as work:
            after = None
            while True:
                page = GuestFilter(**{**_fields(where), "after": after})
                rows = list(await work.guest_list.page(tenant_id, page, now=now))
                listed += [r.user_id for r in rows[: where.top]]
                if len(rows) <= where.top:
                    break
                last = rows[where.top - 1]
                after = (last.sort_value, last.user_id)
            count = await work.guest_list.count(tenant_id, where, now=now)
        results.append((where, listed, expected, count))
    for where, listed, expected, count in results:
        assert listed == expected, where
        assert count == len(expected), where
    assert any(_expected(guests, GuestFilter(pending_days=d), iso(utcnow())) for d in (1, 10))


def _fields(where: GuestFilter) -> dict[str, object]:
    return {name: getattr(where, name) for name in GuestFilter.__slots__}
