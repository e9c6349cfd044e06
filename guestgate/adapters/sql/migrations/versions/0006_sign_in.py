"""Sign-in: one-time-code challenges, sessions, authorization codes, refresh tokens, activity.

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GUID = sa.String(36)
TIMESTAMP = sa.String(27)


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", GUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _ref(name: str, target: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, GUID, sa.ForeignKey(target, ondelete="CASCADE"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "signin_challenges",
        sa.Column("challenge_hash", sa.String(64), primary_key=True),
        _tenant(),
        _ref("user_id", "users.id", nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("code_hash", sa.String(64)),
        sa.Column("code_expires_at", TIMESTAMP),
        sa.Column("code_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("codes_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_code_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "signin_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("sid", GUID, nullable=False, unique=True),
        _tenant(),
        _ref("user_id", "users.id"),
        sa.Column("auth_time", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP),
    )
    op.create_index("ix_signin_sessions_user", "signin_sessions", ["user_id"])
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        _ref("app_id", "apps.id"),
        _ref("user_id", "users.id"),
        sa.Column("sid", GUID, nullable=False),
        sa.Column("redirect_uri", sa.String(1024), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("nonce", sa.String(512)),
        sa.Column("code_challenge", sa.String(64)),
        sa.Column("auth_time", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP),
        sa.Column("family_id", GUID),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", GUID, nullable=False),
        _ref("app_id", "apps.id"),
        _ref("user_id", "users.id"),
        sa.Column("sid", GUID, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("auth_time", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP),
        sa.Column("revoked_at", TIMESTAMP),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user", "refresh_tokens", ["user_id"])
    op.create_table(
        "sign_in_activity",
        sa.Column("user_id", GUID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_sign_in_at", TIMESTAMP),
        sa.Column("last_successful_sign_in_at", TIMESTAMP),
    )


def downgrade() -> None:
    for table in (
        "sign_in_activity",
        "refresh_tokens",
        "authorization_codes",
        "signin_sessions",
        "signin_challenges",
    ):
        op.drop_table(table)
