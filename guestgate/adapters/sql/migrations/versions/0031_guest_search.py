"""The guest list's domain filter and text search served by indexes: an expression index on
the address's domain, and trigram indexes (PostgreSQL `pg_trgm`; SQLite an FTS5 trigram
table kept by triggers, filled here with the existing guests). The statements are
schema_search.py's, which the schema snapshot appends too.

Revision ID: 0031
"""

from __future__ import annotations

from alembic import op

from guestgate.adapters.sql import schema_search

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in schema_search.DDL[dialect]:
        op.execute(statement)
        if statement.startswith("CREATE VIRTUAL TABLE"):
            # Before the triggers exist, in the same transaction: no write comes between.
            op.execute(schema_search.REFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER users_search_{trigger}")
        op.execute("DROP TABLE users_search")
        op.drop_index("ix_users_guest_domain", table_name="users")
    else:
        for name in schema_search.INDEXES:
            op.drop_index(name, table_name="users")
