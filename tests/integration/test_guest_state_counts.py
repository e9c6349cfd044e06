"""The kept counts of users per state (migration 0032, schema_counts.py) equal a GROUP BY of
the users after the write paths test_guest_list_columns.py does not take (restore, a tenant
deleted with its users), after two processes write at once, and after the migration fills
them for existing guests; the console's and the $count's totals read them, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.driver import Database
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.console import GuestFilter
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.odata import Compare, UserQuery
from guestgate.domain.timestamps import iso, utcnow
from guestgate.errors import GuestgateError
from guestgate.services import redemption
from guestgate.services.directory import Actor
from guestgate.services.local_user_admin import LocalUserAdmin
from guestgate.services.user_admin import UserAdmin
from tests.integration.kept_counts import assert_counts_kept, kept_and_recounted
from tests.security.services import (
    SEALER,
    UowFactory,
    accept,
    make_service,
    new_actor,
    verified_session,
)

pytestmark = pytest.mark.anyio

STATES = ("Pending", "Accepted", "Declined", "Revoked", "Expired")
STAMP = "2026-01-01T00:00:00.000000Z"


def _address() -> str:
    return f"g.{uuid.uuid4().hex[:10]}@fabrikam.example"


async def _live_count(db: Database, tenant_id: str, state: str | None, now: str) -> int:
    """COUNT(*) over the users, as the guest list counted before the kept counts."""
    where = "tenant_id = :tid AND user_type = 'Guest'"
    if state == "Expired":
        where += " AND invitation_state = 'Pending' AND invitation_expires_at <= :now"
    elif state == "Pending":
        where += (
            " AND invitation_state = 'Pending'"
            " AND (invitation_expires_at IS NULL OR invitation_expires_at > :now)"
        )
    elif state is not None:
        where += f" AND invitation_state = '{state}'"
    tx = await db.begin(write=False)
    try:
        row = await tx.fetchone(
            "SELECT COUNT(*) AS n FROM users WHERE " + where,
            {"tid": tenant_id, "now": now},
        )
    finally:
        await tx.rollback()
    assert row is not None
    return int(row["n"])


async def assert_console_counts(db: Database, tenant_id: str) -> None:
    """Every count the console reads from the kept counts equals the live COUNT(*), and the
    $count of `userType eq 'Guest'` the total."""
    now = iso(utcnow())
    live = {state: await _live_count(db, tenant_id, state, now) for state in (None, *STATES)}
    async with SqlUnitOfWork(db, write=False) as work:
        for state in (None, *STATES):
            kept = await work.guest_list.count(tenant_id, GuestFilter(state=state), now=now)
            assert kept == live[state], state
        guests = UserQuery(filter=Compare("userType", "eq", "Guest"))
        assert await work.users.count(tenant_id, guests) == live[None]


async def test_a_restored_guest_is_counted_again_in_its_state(
    uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    service = make_service(uow)
    views = [await service.invite(actor, build_invite_request(email=_address())) for _ in "ab"]
    await accept(uow, await verified_session(uow, views[1].id))
    admin = UserAdmin(LocalUserAdmin(uow, now=utcnow), name="local")
    for view in views:
        await service.delete_user(actor, view.user_id)
        await assert_counts_kept(db)
        await assert_console_counts(db, actor.tenant_id)
        await admin.restore(actor, view.user_id)
        await assert_counts_kept(db)
        await assert_console_counts(db, actor.tenant_id)


async def test_a_tenant_deleted_with_its_users_leaves_no_counts(
    uow: UowFactory, db: Database
) -> None:
    gone, kept = await new_actor(uow), await new_actor(uow)
    service = make_service(uow)
    for actor in (gone, kept):
        for n in range(3):
            view = await service.invite(actor, build_invite_request(email=_address()))
            if n:
                await service.revoke(actor, view.id)
    tx = await db.begin(write=True)
    await tx.execute("DELETE FROM tenants WHERE id = :id", {"id": gone.tenant_id})
    await tx.commit()
    tx = await db.begin(write=False)
    try:
        left = await tx.fetchall(
            "SELECT * FROM guest_state_counts WHERE tenant_id = :id", {"id": gone.tenant_id}
        )
    finally:
        await tx.rollback()
    assert list(left) == []
    await assert_counts_kept(db)
    await assert_console_counts(db, kept.tenant_id)


def _writer(database_url: str, tenant_id: str, emails: list[str], seed: int) -> None:
    """One process's writes: invites and re-invites of shared addresses, each followed by
    a revoke, resend, accept, decline or delete, or nothing."""
    asyncio.run(_write(database_url, Actor(tenant_id=tenant_id, app_id=None), emails, seed))


async def _write(database_url: str, actor: Actor, emails: list[str], seed: int) -> None:
    rng = random.Random(seed)
    db = connect(database_url, pool_size=2)

    def uow(write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(db, write=write)

    service = make_service(uow)
    try:
        for _ in range(30):
            try:
                view = await service.invite(actor, build_invite_request(email=rng.choice(emails)))
                action = rng.randrange(6)
                if action == 0:
                    await service.revoke(actor, view.id)
                elif action == 1:
                    await service.resend(actor, view.id)
                elif action in (2, 3):
                    try:
                        session = await verified_session(uow, view.id)
                    except Exception:
                        continue
                    if action == 2:
                        await accept(uow, session)
                    else:
                        await redemption.decline(
                            uow(), session_id=session, sealer=SEALER, now=utcnow(), request_id=None
                        )
                elif action == 4:
                    await service.delete_user(actor, view.user_id)
            except GuestgateError:
                continue  # lost a race (409, 404, or 503 for a deadlock): nothing to count
    finally:
        await db.close()


async def test_two_processes_writing_at_once_keep_every_count(
    database_url: str, uow: UowFactory, db: Database
) -> None:
    actor = await new_actor(uow)
    emails = [_address() for _ in range(12)]
    spawn = multiprocessing.get_context("spawn")
    writers = [
        spawn.Process(target=_writer, args=(database_url, actor.tenant_id, emails, seed))
        for seed in (1, 2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        await asyncio.to_thread(writer.join, 300)
        assert writer.exitcode == 0
    kept, recounted = await kept_and_recounted(db)
    assert kept == recounted
    assert sum(n for (t, _, _), n in kept.items() if t == actor.tenant_id) > 0
    await assert_console_counts(db, actor.tenant_id)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0031(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    migrate.upgrade(url, "0031", from_snapshot=False)
    return url


async def test_the_migration_counts_the_existing_users(url_at_0031: str) -> None:
    past, future = "2026-01-02T00:00:00.000000Z", "2999-01-01T00:00:00.000000Z"
    rows = [  # (user type, state, expiry): Pending ones expired, live and with none
        ("Guest", "Pending", past),
        ("Guest", "Pending", future),
        ("Guest", "Pending", None),
        ("Guest", "Accepted", None),
        ("Guest", "Accepted", None),
        ("Guest", "Declined", None),
        ("Guest", "Revoked", None),
        ("Member", "Pending", None),
        ("Member", "Accepted", None),
    ]
    engine = migrate.make_engine(url_at_0031)
    tenants = [str(uuid.uuid4()) for _ in range(2)]
    with engine.begin() as conn:
        for t, tenant_id in enumerate(tenants):
            conn.execute(
                sa.text("INSERT INTO tenants (id, name, created_at) VALUES (:id, 'T', :at)"),
                {"id": tenant_id, "at": STAMP},
            )
            conn.execute(
                sa.text("INSERT INTO tenant_domains VALUES (:d, :id, 0)"),
                {"d": f"t{t}.{tenant_id[:8]}.example", "id": tenant_id},
            )
            for n, (kind, state, expires) in enumerate(rows[t:]):
                name = f"u{t}-{n}@example.com"
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, tenant_id, user_type, display_name, mail,"
                        " email_key, user_principal_name, created_at, display_name_key,"
                        " mail_key, upn_key, invitation_state, invitation_expires_at)"
                        " VALUES (:id, :tid, :kind, :m, :m2, :m3, :m4, :at, :m5, :m6, :m7,"
                        " :state, :expires)"
                    ),
                    {
                        "id": str(uuid.uuid4()),
                        "tid": tenant_id,
                        "kind": kind,
                        **{k: name for k in ("m", "m2", "m3", "m4", "m5", "m6", "m7")},
                        "at": STAMP,
                        "state": state,
                        "expires": expires,
                    },
                )
    engine.dispose()
    migrate.upgrade(url_at_0031)
    db = connect(url_at_0031, pool_size=2)
    try:
        kept, recounted = await kept_and_recounted(db)
        assert kept == recounted
        assert sum(kept.values()) == len(rows) * 2 - 1
        for tenant_id in tenants:
            await assert_console_counts(db, tenant_id)

        def uow(write: bool = True) -> SqlUnitOfWork:
            return SqlUnitOfWork(db, write=write)

        actor = Actor(tenant_id=tenants[0], app_id=None)
        await make_service(uow).invite(actor, build_invite_request(email=_address()))
        await assert_counts_kept(db)
        await assert_console_counts(db, tenants[0])
    finally:
        await db.close()
