"""What the reports read is stored when it happens (migration 0023), on SQLite and
PostgreSQL: a redemption stores its invitation's time to accept, a sign-in updates the
guest's last sign-in on its users row, and the migration fills both for existing rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from guestgate.adapters.sql import migrate
from guestgate.adapters.sql import reports as sql_reports
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.reports import Window, accept_micros
from guestgate.domain.timestamps import iso
from guestgate.services import redemption, reports, signin, tenants
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory
from tests.integration.test_reports import NOW, SEALER, Clock, _seed, _verified_session

UowFactory = Callable[..., SqlUnitOfWork]


async def _invited(uow: UowFactory) -> tuple[str, Any, Clock]:
    clock = Clock()
    tenant = await tenants.create_tenant(
        uow(), name="Contoso", domains=[f"c{uuid.uuid4().hex[:8]}.example"], now=NOW
    )
    directory = LocalDirectory(
        uow, sealer=SEALER, public_url="https://gg.test", cursor_key=b"k" * 32, now=clock
    )
    service = InvitationService(
        directory, Governance(sealer=SEALER, directory="local"), wake=lambda: None
    )
    clock.at = NOW - timedelta(days=3, microseconds=123_457)
    view = await service.invite(
        Actor(tenant_id=tenant.id, app_id=None),
        build_invite_request(email=f"g.{uuid.uuid4().hex[:6]}@fabrikam.example"),
    )
    return tenant.id, view, clock


async def _row(uow: UowFactory, sql: str, **params: Any) -> Any:
    async with uow(write=False) as work:
        return await work.invitations.tx.fetchone(sql, params)


@pytest.mark.anyio
async def test_a_redemption_stores_its_time_to_accept(uow: UowFactory) -> None:
    _, view, _ = await _invited(uow)
    assert (await _row(uow, "SELECT accept_us FROM invitations WHERE id = :id", id=view.id))[
        "accept_us"
    ] is None
    accepted = NOW - timedelta(hours=5, microseconds=999_999)
    session = await _verified_session(uow, view.id, accepted)
    await redemption.accept(uow(), session_id=session, now=accepted, request_id=None)
    row = await _row(
        uow,
        "SELECT created_at, completed_at, accept_us FROM invitations WHERE id = :id",
        id=view.id,
    )
    assert row["completed_at"] == iso(accepted)
    expected = (accepted - (NOW - timedelta(days=3, microseconds=123_457))) // timedelta(
        microseconds=1
    )
    assert int(row["accept_us"]) == expected == accept_micros(row["created_at"], iso(accepted))


@pytest.mark.anyio
async def test_a_sign_in_updates_the_guests_last_sign_in(uow: UowFactory) -> None:
    tenant_id, view, _ = await _invited(uow)
    query = "SELECT last_sign_in_at FROM users WHERE id = :id"
    assert (await _row(uow, query, id=view.user_id))["last_sign_in_at"] is None
    for moment in (NOW - timedelta(days=40), NOW - timedelta(days=200, microseconds=7)):
        async with uow() as work:
            await signin.record_attempt(
                work,
                tenant_id=tenant_id,
                user_id=view.user_id,
                app_id=str(uuid.uuid4()),
                reason="test",
                now=moment,
                request_id=None,
            )
            await work.commit()
        # The last recorded, as sign_in_activity keeps it (Graph's lastSignInDateTime).
        assert (await _row(uow, query, id=view.user_id))["last_sign_in_at"] == iso(moment)
        activity = await _row(
            uow, "SELECT last_sign_in_at FROM sign_in_activity WHERE user_id = :id", id=view.user_id
        )
        assert activity["last_sign_in_at"] == iso(moment)


@pytest.mark.anyio
@pytest.mark.parametrize("days", [30, 200])
async def test_a_walk_in_duration_order_ranks_as_the_sort_does(
    uow: UowFactory, monkeypatch: pytest.MonkeyPatch, days: int
) -> None:
    """Long windows rank the times to accept by walking the tenant's accepted invitations in
    duration order instead of sorting the window's (adapters/sql/reports.py): the same
    p50 and p90, which the recount tests check for the sort."""
    data = await _seed(uow, seed=7)
    window = Window(start=NOW - timedelta(days=days), end=NOW)
    by_sort = await reports.summary(uow(), tenant_id=data.tenant_id, window=window, now=NOW)
    monkeypatch.setattr(sql_reports, "SORT_AT_MOST", 0)
    by_walk = await reports.summary(uow(), tenant_id=data.tenant_id, window=window, now=NOW)
    assert by_sort.accepted > 1
    assert by_walk == by_sort


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0022(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    migrate.upgrade(url, "0022", from_snapshot=False)
    return url


def _run(url: str, *statements: tuple[str, dict[str, object]]) -> list[list[tuple[Any, ...]]]:
    engine = migrate.make_engine(url)
    try:
        with engine.begin() as conn:
            answers: list[list[tuple[Any, ...]]] = []
            for sql, params in statements:
                found = conn.execute(sa.text(sql), params)
                answers.append([tuple(r) for r in found] if sql.startswith("SELECT") else [])
            return answers
    finally:
        engine.dispose()


def test_the_migration_fills_existing_rows(url_at_0022: str) -> None:
    tenant = str(uuid.uuid4())
    users = [str(uuid.uuid4()) for _ in range(3)]
    created = "2025-12-31T23:59:59.999999Z"
    # Across a year's end, the fractions borrowing a second: 1 µs short of 61 days.
    completed = "2026-03-02T23:59:59.999998Z"
    inserts: list[tuple[str, dict[str, object]]] = [
        (
            "INSERT INTO tenants (id, name, invitation_lifetime_days, created_at)"
            " VALUES (:t, 'Contoso', 30, :at)",
            {"t": tenant, "at": created},
        )
    ]
    for n, user in enumerate(users):
        mail = f"g{n}@fabrikam.example"
        person: dict[str, object] = {"u": user, "t": tenant, "m": mail, "k": mail, "at": created}
        inserts.append(
            (
                "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
                " user_principal_name, created_at, display_name_key, mail_key, upn_key)"
                " VALUES (:u, :t, 'Guest', 'G', :m, :m, :m, :at, 'g', :k, :k)",
                person,
            )
        )
        inserts.append(
            (
                "INSERT INTO invitations (id, tenant_id, user_id, email, ticket_hash, status,"
                " redirect_url, send_message, more, created_at, completed_at) VALUES (:i, :t,"
                " :u, :m, :h, :s, 'https://x.example', false, '{}', :at, :done)",
                {
                    "i": f"i{n}",
                    "t": tenant,
                    "u": user,
                    "m": f"g{n}@fabrikam.example",
                    "h": uuid.uuid4().hex,
                    "s": "Completed" if n < 2 else "PendingAcceptance",
                    "at": created,
                    "done": completed if n == 0 else created if n == 1 else None,
                },
            )
        )
    inserts.append(
        (
            "INSERT INTO sign_in_activity (user_id, last_sign_in_at, last_successful_sign_in_at)"
            " VALUES (:u, :at, NULL)",
            {"u": users[0], "at": completed},
        )
    )
    _run(url_at_0022, *inserts)
    migrate.upgrade(url_at_0022)
    assert migrate.current_revision(url_at_0022) == migrate.HEAD
    accepted, seen = _run(
        url_at_0022,
        ("SELECT id, accept_us FROM invitations ORDER BY id", {}),
        ("SELECT mail, last_sign_in_at FROM users ORDER BY mail", {}),
    )
    assert accepted == [("i0", accept_micros(created, completed)), ("i1", 0), ("i2", None)]
    assert accept_micros(created, completed) == 61 * 86_400_000_000 - 1
    assert seen == [
        ("g0@fabrikam.example", completed),
        ("g1@fabrikam.example", None),
        ("g2@fabrikam.example", None),
    ]


@pytest.mark.anyio
async def test_every_rank_walked_from_either_end_is_the_sorted_duration(
    uow: UowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk takes a rank past the middle from the slowest end: every rank of a window,
    ties included, is the value the sorted durations hold at it."""
    data = await _seed(uow, seed=11)
    start, end = iso(NOW - timedelta(days=200)), iso(NOW)
    async with uow(write=False) as work:
        rows = await work.invitations.tx.fetchall(
            "SELECT accept_us FROM invitations WHERE tenant_id = :tid AND status = 'Completed'"
            " AND created_at >= :start AND created_at < :end",
            {"tid": data.tenant_id, "start": start, "end": end},
        )
    durations = sorted(int(r["accept_us"]) for r in rows)
    assert len(durations) > 5
    ranks = list(range(1, len(durations) + 1))
    for sort_at_most in (len(durations), 0):  # sorted, then walked
        monkeypatch.setattr(sql_reports, "SORT_AT_MOST", sort_at_most)
        async with uow(write=False) as work:
            found = await sql_reports.SqlReports(work.invitations.tx).accept_micros_at(
                data.tenant_id, start=start, end=end, ranks=ranks, accepted=len(durations)
            )
        assert found == durations
