"""How many users each tenant holds per user type and invitation state, kept by triggers
(migration 0032), so the guest list's and $count's totals read a few rows instead of an
index range of up to every guest.

The triggers fire on every insert and delete of users rows (on PostgreSQL once per statement,
from its transition table) and on an update of a row's tenant, user type or state: no writer
has to remember the counts. On PostgreSQL each
change adds to the row of one of `SHARDS` shards, chosen by the backend's process id: one
row per tenant and state would be updated by every invite and serialize concurrent
transactions on its lock; a reader sums the shards. SQLite has one writer: shard 0.

A tenant's deletion removes its counts with the foreign key's cascade. The cascade deletes
its users too, whose triggers then must not write a count for the tenant gone (it would
violate the foreign key, or stay behind): on SQLite a delete only subtracts from the row
that exists, on PostgreSQL it writes nothing once the tenant is gone.

snapshot.py appends `DDL` to the rendered schema; the migration runs the same statements,
then `FILL`, in one transaction.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

from guestgate.adapters.sql.schema_base import GUID, metadata

SHARDS = 16

guest_state_counts = Table(
    "guest_state_counts",
    metadata,
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("user_type", String(16), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("n", BigInteger, nullable=False),
)

_KEY = "(tenant_id, user_type, state, shard)"
_CHANGED = (
    "OLD.tenant_id IS NOT NEW.tenant_id OR OLD.user_type IS NOT NEW.user_type"
    " OR OLD.invitation_state IS NOT NEW.invitation_state"
)
_SQLITE_ADD = (
    f"INSERT INTO guest_state_counts {_KEY[:-1]}, n)"  # noqa: S608 (fixed text)
    " VALUES (NEW.tenant_id, NEW.user_type, NEW.invitation_state, 0, 1)"
    f" ON CONFLICT {_KEY} DO UPDATE SET n = n + 1;"
)
_SQLITE_SUBTRACT = (
    "UPDATE guest_state_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id"
    " AND user_type = OLD.user_type AND state = OLD.invitation_state AND shard = 0;"
)
# An update's two rows are written in the order of their keys, so two transactions moving
# guests between the same two states in opposite directions do not lock them crosswise.
# Inserts and deletes are counted once per statement from its transition table: counted per
# row, a statement (or transaction) writing many users updated one shard row once per user,
# and every update of a row updated earlier in the same transaction walks the versions left
# behind, so a COPY of 1,000,000 guests did not finish in a quarter of an hour.
_PG_SHARD = f"pg_backend_pid() % {SHARDS}"
_PG_FUNCTION = f"""CREATE FUNCTION guest_state_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s integer := {_PG_SHARD};
BEGIN
    INSERT INTO guest_state_counts AS c
    SELECT * FROM (VALUES (OLD.tenant_id, OLD.user_type, OLD.invitation_state, s, -1),
        (NEW.tenant_id, NEW.user_type, NEW.invitation_state, s, 1)) AS v
    ORDER BY 1, 2, 3
    ON CONFLICT {_KEY} DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$"""  # noqa: S608 (fixed text)
_PG_ADDED = f"""CREATE FUNCTION guest_state_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO guest_state_counts AS c
    SELECT tenant_id, user_type, invitation_state, {_PG_SHARD}, COUNT(*) FROM added
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT {_KEY} DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$"""  # noqa: S608 (fixed text)
_PG_REMOVED = f"""CREATE FUNCTION guest_state_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO guest_state_counts AS c
    SELECT r.tenant_id, r.user_type, r.invitation_state, {_PG_SHARD}, -COUNT(*) FROM removed r
    WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = r.tenant_id)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT {_KEY} DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$"""  # noqa: S608 (fixed text)

DDL = {
    "sqlite": (
        f"CREATE TRIGGER users_state_count_insert AFTER INSERT ON users BEGIN {_SQLITE_ADD} END",
        "CREATE TRIGGER users_state_count_delete AFTER DELETE ON users"
        f" BEGIN {_SQLITE_SUBTRACT} END",
        "CREATE TRIGGER users_state_count_update AFTER UPDATE OF tenant_id, user_type,"
        f" invitation_state ON users WHEN {_CHANGED}"
        f" BEGIN {_SQLITE_SUBTRACT} {_SQLITE_ADD} END",
    ),
    "postgresql": (
        _PG_FUNCTION,
        _PG_ADDED,
        _PG_REMOVED,
        "CREATE TRIGGER users_state_count AFTER INSERT ON users REFERENCING NEW TABLE AS added"
        " FOR EACH STATEMENT EXECUTE FUNCTION guest_state_count_added()",
        "CREATE TRIGGER users_state_count_removed AFTER DELETE ON users"
        " REFERENCING OLD TABLE AS removed"
        " FOR EACH STATEMENT EXECUTE FUNCTION guest_state_count_removed()",
        "CREATE TRIGGER users_state_count_update AFTER UPDATE OF tenant_id, user_type,"
        " invitation_state ON users FOR EACH ROW"
        f" WHEN ({_CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ')})"
        " EXECUTE FUNCTION guest_state_count()",
    ),
}
# The existing users' counts, once the triggers exist (their lock keeps writers out until
# the migration commits).
FILL = (
    "INSERT INTO guest_state_counts (tenant_id, user_type, state, shard, n)"
    " SELECT tenant_id, user_type, invitation_state, 0, COUNT(*) FROM users"
    " GROUP BY tenant_id, user_type, invitation_state"
)
TRIGGERS = ("users_state_count_insert", "users_state_count_delete", "users_state_count_update")
