"""Sign-in registrations: redirect URIs, public clients, the app's own API.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("redirect_uris", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("public_client", sa.Boolean, nullable=False, server_default="0"))
        batch.add_column(sa.Column("app_id_uri", sa.String(400)))
        batch.add_column(sa.Column("api_scopes", sa.Text, nullable=False, server_default=""))
        batch.create_index("uq_apps_tenant_app_id_uri", ["tenant_id", "app_id_uri"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.drop_index("uq_apps_tenant_app_id_uri")
        batch.drop_column("api_scopes")
        batch.drop_column("app_id_uri")
        batch.drop_column("public_client")
        batch.drop_column("redirect_uris")
