"""Transactional outbox and redemption sessions.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GUID = sa.String(36)
TIMESTAMP = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", GUID, primary_key=True),
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("payload", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("locked_until", TIMESTAMP),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "redeem_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column(
            "invitation_id",
            GUID,
            sa.ForeignKey("invitations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(64)),
        sa.Column("code_expires_at", TIMESTAMP),
        sa.Column("code_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("codes_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_code_at", TIMESTAMP),
        sa.Column("verified_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_redeem_sessions_invitation", "redeem_sessions", ["invitation_id"])


def downgrade() -> None:
    op.drop_table("redeem_sessions")
    op.drop_table("outbox")
