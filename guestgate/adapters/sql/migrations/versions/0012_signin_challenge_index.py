"""An index on signin_challenges(user_id, created_at): a user's recent challenges.

Starting a sign-in counts the challenges the account was given since a time
(adapters/sql/signin.py `recent_challenges`); without the index that is a scan of every
challenge. It also serves the cascade when a user is deleted.

Revision ID: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_signin_challenges_user_created", "signin_challenges", ["user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_signin_challenges_user_created", table_name="signin_challenges")
