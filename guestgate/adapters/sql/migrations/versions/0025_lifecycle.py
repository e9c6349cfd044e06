"""Guest lifecycle policies: the policies and their versions, the scheduler's steps (one row
per step, its key making it run once), sponsors' keeps and the attestation links used.

Revision ID: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lifecycle_policies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("modified_at", sa.String(27), nullable=False),
        sa.Column("deleted_at", sa.String(27)),
    )
    op.create_index(
        "ix_lifecycle_policies_tenant", "lifecycle_policies", ["tenant_id", "created_at"]
    )
    op.create_table(
        "lifecycle_policy_versions",
        sa.Column("policy_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
    )
    op.create_table(
        "lifecycle_steps",
        sa.Column("policy_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("step", sa.String(16), primary_key=True),
        sa.Column("due_on", sa.String(10), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_at", sa.String(27), nullable=False),
        sa.Column("done_at", sa.String(27)),
    )
    op.create_index("ix_lifecycle_steps_claimed", "lifecycle_steps", ["status", "claimed_at"])
    op.create_index("ix_lifecycle_steps_user", "lifecycle_steps", ["tenant_id", "user_id", "step"])
    op.create_table(
        "lifecycle_attestations",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("kept_at", sa.String(27), nullable=False),
        sa.Column("kept_by", sa.String(320), nullable=False),
    )
    op.create_table(
        "lifecycle_links",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("used_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "lifecycle_links",
        "lifecycle_attestations",
        "lifecycle_steps",
        "lifecycle_policy_versions",
        "lifecycle_policies",
    ):
        op.drop_table(table)
