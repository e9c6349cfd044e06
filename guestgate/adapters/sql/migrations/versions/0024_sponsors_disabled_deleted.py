"""Sponsors get a table of their own (user_sponsors, copied from the users.sponsors JSON
list, which goes), users get accountEnabled (account_enabled, true for every existing user),
and deleted users are kept for restore in deleted_users.

Revision ID: 0024
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sponsors",
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "sponsor_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_user_sponsors_sponsor", "user_sponsors", ["tenant_id", "sponsor_id", "user_id"]
    )
    op.create_table(
        "deleted_users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(36),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("upn_key", sa.Text, nullable=False),
        sa.Column("deleted_at", sa.String(27), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index("ix_deleted_users_tenant", "deleted_users", ["tenant_id", "deleted_at", "id"])
    op.create_index("ix_deleted_users_upn", "deleted_users", ["tenant_id", "upn_key"])
    op.create_index("ix_deleted_users_purge", "deleted_users", ["deleted_at"])
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, tenant_id, sponsors FROM users WHERE sponsors IS NOT NULL")
    ).fetchall()
    for user_id, tenant_id, text in rows:
        # Only sponsors that are still users of the tenant, once each, in their order.
        for position, sponsor in enumerate(dict.fromkeys(json.loads(text or "[]"))):
            bind.execute(
                sa.text(
                    "INSERT INTO user_sponsors (user_id, sponsor_id, tenant_id, position)"
                    " SELECT :uid, id, tenant_id, :pos FROM users WHERE id = :sid"
                    " AND tenant_id = :tid"
                ),
                {"uid": user_id, "sid": sponsor, "tid": tenant_id, "pos": position},
            )
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy would drop and recreate users, and
    # with foreign keys on that deletes every row that refers to a user.
    op.execute("ALTER TABLE users DROP COLUMN sponsors")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("account_enabled", sa.Boolean, nullable=False, server_default="1")
        )


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN account_enabled")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sponsors", sa.Text))
    bind = op.get_bind()
    grouped: dict[str, list[str]] = {}
    for user_id, sponsor in bind.execute(
        sa.text("SELECT user_id, sponsor_id FROM user_sponsors ORDER BY user_id, position")
    ).fetchall():
        grouped.setdefault(user_id, []).append(sponsor)
    for user_id, sponsors in grouped.items():
        bind.execute(
            sa.text("UPDATE users SET sponsors = :s WHERE id = :id"),
            {"s": json.dumps(sponsors), "id": user_id},
        )
    op.drop_table("deleted_users")
    op.drop_table("user_sponsors")
