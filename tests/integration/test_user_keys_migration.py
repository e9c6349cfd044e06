"""Migration 0009 on a database with users: their folded keys are filled in, and lookups by
them work at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from guestgate.adapters.sql import migrate
from guestgate.adapters.sql.connect import connect
from guestgate.adapters.sql.unit_of_work import SqlUnitOfWork
from guestgate.domain.odata import UserQuery, parse_filter, parse_search

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0008(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    migrate.upgrade(url, "0008", from_snapshot=False)
    return url


def insert_old_users(url: str) -> tuple[str, str]:
    tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    engine = migrate.make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tenants (id, name, invitation_lifetime_days, created_at)"
                    " VALUES (:id, 'Contoso', 30, '2026-01-01T00:00:00.000000Z')"
                ),
                {"id": tenant_id},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
                    " user_principal_name, external_user_state, creation_type, created_at)"
                    " VALUES (:id, :tid, 'Guest', 'ZOË Ünal', 'Zoë@Bücher.example',"
                    " 'zoë@xn--bcher-kva.example', 'Zoë_xn--bcher-kva.example#EXT#@c.example',"
                    " 'PendingAcceptance', 'Invitation', '2026-01-01T00:00:00.000000Z')"
                ),
                {"id": user_id, "tid": tenant_id},
            )
    finally:
        engine.dispose()
    return tenant_id, user_id


async def test_upgrade_fills_the_keys_of_existing_users(url_at_0008: str) -> None:
    tenant_id, user_id = insert_old_users(url_at_0008)
    migrate.upgrade(url_at_0008)
    assert migrate.current_revision(url_at_0008) == migrate.HEAD
    db = connect(url_at_0008, pool_size=1)
    try:
        async with SqlUnitOfWork(db, write=False) as uow:
            upn = await uow.users.get_by_upn(tenant_id, "ZOË_XN--BCHER-KVA.EXAMPLE#ext#@C.EXAMPLE")
            assert upn is not None
            assert upn.id == user_id
            for query in (
                UserQuery(filter=parse_filter("mail eq 'ZOË@bücher.example'")),
                UserQuery(filter=parse_filter("startswith(displayName, 'zoë ü')")),
                UserQuery(search=parse_search('"mail:zoë@bü"')),
            ):
                assert [u.id for u in await uow.users.query(tenant_id, query)] == [user_id]
    finally:
        await db.close()
