"""Tenants, domains, apps, secrets, signing keys, users, invitations, audit events.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GUID = sa.String(36)
TIMESTAMP = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", GUID, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("invitation_lifetime_days", sa.Integer, nullable=False, server_default="30"),
        sa.Column("landing_url", sa.String(2048)),
        sa.Column("privacy_url", sa.String(2048)),
        sa.Column("logo_url", sa.String(2048)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "tenant_domains",
        sa.Column("domain", sa.String(253), primary_key=True),
        sa.Column(
            "tenant_id", GUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_tenant_domains_tenant", "tenant_domains", ["tenant_id", "position"])
    op.create_table(
        "apps",
        sa.Column("id", GUID, primary_key=True),
        sa.Column("object_id", GUID, nullable=False, unique=True),
        sa.Column(
            "tenant_id", GUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("permissions", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_apps_tenant", "apps", ["tenant_id"])
    op.create_table(
        "client_secrets",
        sa.Column("id", GUID, primary_key=True),
        sa.Column("app_id", GUID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(8), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_client_secrets_app", "client_secrets", ["app_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("retire_at", TIMESTAMP),
    )
    op.create_table(
        "users",
        sa.Column("id", GUID, primary_key=True),
        sa.Column(
            "tenant_id", GUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_type", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("mail", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("user_principal_name", sa.String(400), nullable=False),
        sa.Column("external_user_state", sa.String(32)),
        sa.Column("external_user_state_changed_at", TIMESTAMP),
        sa.Column("creation_type", sa.String(32)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "email_key", name="uq_users_tenant_email"),
        sa.UniqueConstraint("tenant_id", "user_principal_name", name="uq_users_tenant_upn"),
    )
    op.create_index(
        "ix_users_tenant_type_created", "users", ["tenant_id", "user_type", "created_at", "id"]
    )
    op.create_table(
        "invitations",
        sa.Column("id", GUID, primary_key=True),
        sa.Column(
            "tenant_id", GUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", GUID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("ticket_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("redirect_url", sa.String(2048), nullable=False),
        sa.Column("send_message", sa.Boolean, nullable=False),
        sa.Column("requested_by", sa.String(320)),
        sa.Column("more", sa.Text, nullable=False),
        sa.Column("message_info", sa.Text),
        sa.Column("created_by_app", GUID),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP),
        sa.Column("completed_at", TIMESTAMP),
        sa.Column("revoked_at", TIMESTAMP),
    )
    op.create_index(
        "ix_invitations_tenant_created", "invitations", ["tenant_id", "created_at", "id"]
    )
    op.create_index("ix_invitations_user_status", "invitations", ["user_id", "status"])
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("app_id", GUID),
        sa.Column("actor", sa.String(320)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(400)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("details", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_audit_tenant_id", "audit_events", ["tenant_id", "id"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "invitations",
        "users",
        "signing_keys",
        "client_secrets",
        "apps",
        "tenant_domains",
        "tenants",
    ):
        op.drop_table(table)
