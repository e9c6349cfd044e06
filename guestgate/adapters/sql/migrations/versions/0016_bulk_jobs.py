"""Bulk-invite jobs and their rows.

Revision ID: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("app_id", sa.String(36)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entra", sa.Boolean, nullable=False),
        sa.Column("headings", sa.Text, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("lease_until", sa.String(27)),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("updated_at", sa.String(27), nullable=False),
        sa.Column("finished_at", sa.String(27)),
        sa.Column("summary_at", sa.String(27)),
    )
    op.create_index("ix_bulk_jobs_tenant_created", "bulk_jobs", ["tenant_id", "created_at"])
    op.create_index("ix_bulk_jobs_status_created", "bulk_jobs", ["status", "created_at"])
    op.create_table(
        "bulk_job_rows",
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey("bulk_jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("file_row", sa.Integer, nullable=False),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("invitation_id", sa.String(36)),
        sa.Column("user_id", sa.String(36)),
        sa.Column("redeem_url", sa.Text),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.String(500)),
        sa.Column("updated_at", sa.String(27)),
    )
    op.create_index("ix_bulk_job_rows_status", "bulk_job_rows", ["job_id", "status", "position"])


def downgrade() -> None:
    op.drop_table("bulk_job_rows")
    op.drop_table("bulk_jobs")
