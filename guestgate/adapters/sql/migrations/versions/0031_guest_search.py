"""The guest list's domain filter and text search served by indexes: an expression index on
the address's domain (both databases), and on PostgreSQL `pg_trgm` trigram indexes for the
text. The statements are schema_search.py's, which the schema snapshot appends too.

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


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_users_guest_domain", table_name="users")
    else:
        for name in schema_search.INDEXES:
            op.drop_index(name, table_name="users")
