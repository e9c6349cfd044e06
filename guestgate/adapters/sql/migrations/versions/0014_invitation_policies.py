"""Each tenant's invitation policy: the domain allow or block list (Entra's B2B management
policy definition) and allowInvitesFrom. No row: Entra's defaults.

Revision ID: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitation_policies",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("allow_invites_from", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invitation_policies")
