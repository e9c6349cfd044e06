"""Migration 0024 on a database with sponsors in the old JSON column: they become
user_sponsors rows in their order (unknown and foreign ids dropped, repeats once), every
user is enabled, and a downgrade puts the list back, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from guestgate.adapters.sql import migrate

STAMP = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0023(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    migrate.upgrade(url, "0023", from_snapshot=False)
    return url


def _user(conn: sa.Connection, tenant_id: str, name: str, sponsors: list[str] | None) -> str:
    user_id = str(uuid.uuid4())
    conn.execute(
        sa.text(
            "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
            " user_principal_name, external_user_state, creation_type, created_at,"
            " display_name_key, mail_key, upn_key, sponsors) VALUES (:id, :tid, 'Guest', :n,"
            " :m, :m2, :m3, 'Accepted', 'Invitation', :at, :nk, :mk, :uk, :s)"
        ),
        {
            "id": user_id,
            "tid": tenant_id,
            "n": name,
            **{k: f"{name}@example.com" for k in ("m", "m2", "m3", "mk", "uk")},
            "nk": name,
            "at": STAMP,
            "s": None if sponsors is None else json.dumps(sponsors),
        },
    )
    return user_id


def _tenant(conn: sa.Connection) -> str:
    tenant_id = str(uuid.uuid4())
    conn.execute(
        sa.text(
            "INSERT INTO tenants (id, name, invitation_lifetime_days, created_at)"
            " VALUES (:id, 'T', 30, :at)"
        ),
        {"id": tenant_id, "at": STAMP},
    )
    return tenant_id


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    engine = migrate.make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_sponsors_move_to_their_table_and_back(url_at_0023: str) -> None:
    engine = migrate.make_engine(url_at_0023)
    try:
        with engine.begin() as conn:
            tenant, other = _tenant(conn), _tenant(conn)
            first, second = _user(conn, tenant, "s1", None), _user(conn, tenant, "s2", None)
            foreign = _user(conn, other, "f1", None)
            guest = _user(conn, tenant, "g1", [second, first, second, str(uuid.uuid4()), foreign])
            lonely = _user(conn, tenant, "g2", [])
        migrate.upgrade(url_at_0023, "0024", from_snapshot=False)
        with engine.begin() as conn:
            rows = conn.execute(
                sa.text("SELECT user_id, sponsor_id FROM user_sponsors ORDER BY position")
            ).fetchall()
            enabled = conn.execute(sa.text("SELECT DISTINCT account_enabled FROM users")).all()
        assert [(r[0], r[1]) for r in rows] == [(guest, second), (guest, first)]
        assert [bool(e[0]) for e in enabled] == [True]
        _downgrade(url_at_0023, "0023")
        with engine.begin() as conn:
            back = {r[0]: r[1] for r in conn.execute(sa.text("SELECT id, sponsors FROM users"))}
        assert json.loads(back[guest]) == [second, first]
        assert back[lonely] is None
    finally:
        engine.dispose()
