"""Folded lookup keys on users: display name, mail and userPrincipalName.

SQLite's LOWER() folds ASCII letters only, PostgreSQL's follows the database's locale, so
case-insensitive lookups disagreed between the two (and with the email key invites use).
Each key is stored folded the one way guestgate folds text (NFC, then Python's
``str.lower()``, see domain/users.py ``fold``), and the userPrincipalName is unique by its key.

Revision ID: 0009
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEYS = ("display_name_key", "mail_key", "upn_key")


def _fold(text: str) -> str:
    # A copy of domain/users.py `fold` as it was when this revision was written.
    return unicodedata.normalize("NFC", text).lower()


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name in KEYS:
            batch.add_column(sa.Column(name, sa.Text))
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, display_name, mail, user_principal_name FROM users")
    ).fetchall()
    for row in rows:
        connection.execute(
            sa.text(
                "UPDATE users SET display_name_key = :name, mail_key = :mail, upn_key = :upn"
                " WHERE id = :id"
            ),
            {
                "id": row.id,
                "name": _fold(row.display_name),
                "mail": _fold(row.mail),
                "upn": _fold(row.user_principal_name),
            },
        )
    with op.batch_alter_table("users") as batch:
        for name in KEYS:
            batch.alter_column(name, existing_type=sa.Text, nullable=False)
        batch.drop_constraint("uq_users_tenant_upn", type_="unique")
        batch.create_unique_constraint("uq_users_tenant_upn_key", ["tenant_id", "upn_key"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_tenant_upn_key", type_="unique")
        batch.create_unique_constraint("uq_users_tenant_upn", ["tenant_id", "user_principal_name"])
        for name in reversed(KEYS):
            batch.drop_column(name)
