"""Kept counts of users per tenant, user type and invitation state (schema_counts.py), kept
by triggers and filled here from the existing users in the same transaction; and the guest
list's state and expiry indexes carry what the Expired page and "pending longer than" read,
so those walk an index without a lookup of each guest's row.

Revision ID: 0032
"""

from __future__ import annotations

from alembic import op

from guestgate.adapters.sql import schema_counts

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

BEFORE = {
    "ix_users_guest_state": ["tenant_id", "user_type", "invitation_state", "created_at", "id"],
    "ix_users_guest_expiry": [
        "tenant_id",
        "user_type",
        "invitation_state",
        "invitation_expires_at",
    ],
}
AFTER = {
    "ix_users_guest_state": [*BEFORE["ix_users_guest_state"], "invitation_expires_at"],
    "ix_users_guest_expiry": [
        *BEFORE["ix_users_guest_expiry"],
        "invited_at",
        "created_at",
        "id",
    ],
}


def upgrade() -> None:
    for name, columns in AFTER.items():
        op.drop_index(name, table_name="users")
        op.create_index(name, "users", columns)
    schema_counts.guest_state_counts.create(op.get_bind())
    for statement in schema_counts.DDL[op.get_bind().dialect.name]:
        op.execute(statement)
    # After the triggers: on PostgreSQL their creation locks users against writes until this
    # transaction commits, so no write falls between the fill and the triggers.
    op.execute(schema_counts.FILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in schema_counts.TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    else:
        for trigger in (
            "users_state_count",
            "users_state_count_removed",
            "users_state_count_update",
        ):
            op.execute(f"DROP TRIGGER {trigger} ON users")
        for function in (
            "guest_state_count",
            "guest_state_count_added",
            "guest_state_count_removed",
        ):
            op.execute(f"DROP FUNCTION {function}()")
    op.drop_table("guest_state_counts")
    for name, columns in BEFORE.items():
        op.drop_index(name, table_name="users")
        op.create_index(name, "users", columns)
