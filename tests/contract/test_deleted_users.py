"""Deleted users, sponsors and accountEnabled through local mode's use-cases, on the fakes,
SQLite and PostgreSQL: the restore round trip, the purge once the clock passes the
retention, and the five-sponsor limit under concurrent adds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from guestgate.domain.console import GuestFilter
from guestgate.domain.timestamps import iso
from guestgate.errors import NotFound, ValidationError
from guestgate.services.directory import Actor, Change
from guestgate.services.local_directory import LocalDirectory
from guestgate.services.local_user_admin import LocalUserAdmin, purge_expired
from guestgate.services.ports import UnitOfWork
from guestgate.services.user_admin import user_record
from tests.contract.builders import UowFactory, committed, make_user, tenant_with_guest

pytestmark = pytest.mark.anyio
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def no_record(uow: UnitOfWork, actor: Actor, change: Change, now: datetime) -> bool:
    return False


def parts(make_uow: UowFactory) -> tuple[Clock, LocalDirectory, LocalUserAdmin]:
    clock = Clock()
    directory = LocalDirectory(
        make_uow,
        sealer=cast(Any, None),  # a delete seals nothing
        public_url="https://gg.test",
        cursor_key=b"k" * 32,
        now=clock,
    )
    return clock, directory, LocalUserAdmin(make_uow, now=clock)


async def test_restore_brings_back_id_sponsors_and_state(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow, external_user_state="Accepted")
    sponsor = make_user(tenant.id, user_type="Member", creation_type=None)
    await committed(make_uow, sponsor)
    _, directory, admin = parts(make_uow)
    actor = Actor(tenant_id=tenant.id, app_id=None)
    record = user_record("local")
    await admin.add_sponsor(actor, guest.id, sponsor.id, record=record)
    await admin.set_account_enabled(actor, guest.id, False, record=record)
    await directory.delete_user(actor, guest.id, record=no_record)
    async with make_uow(write=False) as uow:
        assert await uow.users.get(tenant.id, guest.id) is None
    kept = await admin.get_deleted(actor, guest.id)
    assert kept.user.account_enabled is False
    assert kept.sponsors == (sponsor.id,)
    restored = await admin.restore(actor, guest.id, record=record)
    assert restored.id == guest.id
    assert restored.account_enabled is False
    assert restored.user_principal_name == guest.user_principal_name
    assert [s.id for s in await admin.sponsors(actor, guest.id)] == [sponsor.id]
    with pytest.raises(NotFound):
        await admin.get_deleted(actor, guest.id)
    async with make_uow(write=False) as uow:
        [row] = await uow.guest_list.page(
            tenant.id, GuestFilter(user_id=guest.id, top=1), now=iso(START)
        )
        assert row.state == "Accepted"  # as a guest without invitations
        assert row.account_enabled is False
        assert row.sponsors == (sponsor.id,)
        actions = [a.action for a in await uow.audit.list(tenant.id, limit=10)]
    assert actions[:3] == ["user.restore", "user.disable", "user.sponsor.add"]


async def test_the_worker_purges_a_deleted_user_once_the_retention_has_passed(
    make_uow: UowFactory,
) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    clock, directory, admin = parts(make_uow)
    actor = Actor(tenant_id=tenant.id, app_id=None)
    await directory.delete_user(actor, guest.id, record=no_record)
    record = user_record("local")
    clock.now = START + timedelta(days=30) - timedelta(seconds=1)
    assert await purge_expired(make_uow(), record=record, now=clock.now, days=30) == 0
    assert (await admin.get_deleted(actor, guest.id)).user.id == guest.id
    clock.now = START + timedelta(days=30, seconds=1)
    assert await purge_expired(make_uow(), record=record, now=clock.now, days=30) == 1
    with pytest.raises(NotFound):
        await admin.get_deleted(actor, guest.id)
    assert await purge_expired(make_uow(), record=record, now=clock.now, days=30) == 0
    async with make_uow(write=False) as uow:
        [last] = await uow.audit.list(tenant.id, limit=1)
    assert last.action == "user.purge"
    assert last.target == guest.id
    assert last.details is not None
    assert last.details["reason"] == "retention"


async def test_concurrent_sponsor_adds_stop_at_five(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    sponsors = [make_user(tenant.id, user_type="Member", creation_type=None) for _ in range(8)]
    await committed(make_uow, *sponsors)
    _, _, admin = parts(make_uow)
    actor = Actor(tenant_id=tenant.id, app_id=None)
    record = user_record("local")

    async def add(sponsor_id: str) -> str | None:
        try:
            await admin.add_sponsor(actor, guest.id, sponsor_id, record=record)
        except ValidationError:
            return None
        return sponsor_id

    answers = await asyncio.gather(*(add(s.id) for s in sponsors))
    added = {a for a in answers if a is not None}
    assert len(added) == 5
    stored = {s.id for s in await admin.sponsors(actor, guest.id)}
    assert stored == added  # every 204 is stored, every 400 is not


async def test_a_new_guest_of_a_deleted_address_gets_another_name(make_uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(make_uow)
    _, directory, admin = parts(make_uow)
    actor = Actor(tenant_id=tenant.id, app_id=None)
    await directory.delete_user(actor, guest.id, record=no_record)
    async with make_uow(write=False) as uow:
        assert await uow.deleted_users.upn_taken(tenant.id, guest.user_principal_name.upper())
        assert not await uow.deleted_users.upn_taken(tenant.id, "other#EXT#@contoso.example")
    # A live user at the same address blocks the restore, which changes nothing.
    await committed(make_uow, make_user(tenant.id, mail=guest.mail))
    with pytest.raises(ValidationError):
        await admin.restore(actor, guest.id, record=user_record("local"))
    assert (await admin.get_deleted(actor, guest.id)).user.id == guest.id
