"""The tables, declared once with SQLAlchemy Core; migrations must produce exactly this.

Runtime queries go through the stdlib sqlite3 driver (sqlite.py) or asyncpg (postgres.py);
these declarations are the reference that the migration test compares against. The sign-in
tables are declared in schema_signin.py on the same `metadata`: importing this module gives
every table, and `metadata` here is the whole schema.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from guestgate.adapters.sql.schema_base import GUID, ROWID, TIMESTAMP
from guestgate.adapters.sql.schema_base import metadata as metadata  # the whole schema's
from guestgate.adapters.sql.schema_branding import tenant_logos as tenant_logos
from guestgate.adapters.sql.schema_bulk import bulk_job_rows as bulk_job_rows
from guestgate.adapters.sql.schema_bulk import bulk_jobs as bulk_jobs
from guestgate.adapters.sql.schema_console import console_sessions as console_sessions
from guestgate.adapters.sql.schema_console import role_assignments as role_assignments
from guestgate.adapters.sql.schema_counts import guest_state_counts as guest_state_counts
from guestgate.adapters.sql.schema_directory import deleted_users as deleted_users
from guestgate.adapters.sql.schema_directory import graph_invitations as graph_invitations
from guestgate.adapters.sql.schema_directory import user_sponsors as user_sponsors
from guestgate.adapters.sql.schema_lifecycle import (  # migration 0025
    lifecycle_attestations as lifecycle_attestations,
)
from guestgate.adapters.sql.schema_lifecycle import lifecycle_links as lifecycle_links
from guestgate.adapters.sql.schema_lifecycle import lifecycle_policies as lifecycle_policies
from guestgate.adapters.sql.schema_lifecycle import (
    lifecycle_policy_versions as lifecycle_policy_versions,
)
from guestgate.adapters.sql.schema_lifecycle import lifecycle_steps as lifecycle_steps
from guestgate.adapters.sql.schema_policy import approval_requests as approval_requests
from guestgate.adapters.sql.schema_policy import invitation_policies as invitation_policies
from guestgate.adapters.sql.schema_signin import (  # re-exported: this module has every table
    authorization_codes as authorization_codes,
)
from guestgate.adapters.sql.schema_signin import refresh_tokens as refresh_tokens
from guestgate.adapters.sql.schema_signin import sign_in_activity as sign_in_activity
from guestgate.adapters.sql.schema_signin import signin_challenges as signin_challenges
from guestgate.adapters.sql.schema_signin import signin_sessions as signin_sessions

tenants = Table(
    "tenants",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("name", String(256), nullable=False),
    Column("invitation_lifetime_days", Integer, nullable=False, server_default="30"),
    Column("landing_url", String(2048)),
    Column("privacy_url", String(2048)),
    Column("logo_url", String(2048)),
    Column("created_at", TIMESTAMP, nullable=False),
)

tenant_domains = Table(
    "tenant_domains",
    metadata,
    Column("domain", String(253), primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_tenant_domains_tenant", "tenant_id", "position"),
)

apps = Table(
    "apps",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("object_id", GUID, nullable=False, unique=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("permissions", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("created_at", TIMESTAMP, nullable=False),
    Index("ix_apps_tenant", "tenant_id"),
)

client_secrets = Table(
    "client_secrets",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("app_id", GUID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("hint", String(8), nullable=False),
    Column("display_name", String(120), nullable=False),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Index("ix_client_secrets_app", "app_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_key", Text, nullable=False),  # AES-GCM sealed PKCS#8, never plaintext
    Column("public_jwk", Text, nullable=False),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("retire_at", TIMESTAMP),
)

users = Table(
    "users",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_type", String(16), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("mail", String(320), nullable=False),
    Column("email_key", String(320), nullable=False),
    Column("user_principal_name", String(400), nullable=False),
    Column("external_user_state", String(32)),
    Column("external_user_state_changed_at", TIMESTAMP),
    Column("creation_type", String(32)),
    Column("created_at", TIMESTAMP, nullable=False),
    # Folded copies for lookups, the same on both databases (migration 0009; domain/users.py
    # `fold`): SQL never folds case itself.
    Column("display_name_key", Text, nullable=False),
    Column("mail_key", Text, nullable=False),
    Column("upn_key", Text, nullable=False),
    Column("last_sign_in_at", TIMESTAMP),  # sign_in_activity's, for the sign-in report (0023)
    UniqueConstraint("tenant_id", "email_key", name="uq_users_tenant_email"),
    UniqueConstraint("tenant_id", "upn_key", name="uq_users_tenant_upn_key"),
    Index("ix_users_tenant_type_created", "tenant_id", "user_type", "created_at", "id"),
    Index("ix_users_tenant_type_id", "tenant_id", "user_type", "id"),  # the sign-in report (0021)
    Index("ix_users_tenant_created", "tenant_id", "created_at", "id"),  # the OData feed (0018)
    Index("ix_users_tenant_type_sign_in", "tenant_id", "user_type", "last_sign_in_at"),  # 0023
)
# The latest invitation, kept on the guest's row for the console's guest list (migration
# 0026; adapters/sql/invitations.py keeps it on every write). The state is Pending, Accepted,
# Declined or Revoked; Expired is a Pending one whose expires_at has passed.
users.append_column(Column("latest_invitation_id", GUID))
users.append_column(
    Column("invitation_state", String(16), nullable=False, server_default="Pending")
)
users.append_column(Column("invitation_expires_at", TIMESTAMP))
users.append_column(Column("invitation_requester", String(320)))
users.append_column(Column("invited_at", TIMESTAMP))
# The expiry and the invited time ride along (migration 0032): the Expired and Pending pages
# walk the state's entries newest first, "pending longer than" the expiry's, with no lookup.
_BY_STATE = ("tenant_id", "user_type", "invitation_state")
GUEST_STATE = (*_BY_STATE, "created_at", "id", "invitation_expires_at")
GUEST_EXPIRY = (*_BY_STATE, "invitation_expires_at", "invited_at", "created_at", "id")
GUEST_REQUESTER = ("tenant_id", "user_type", "invitation_requester", "created_at", "id")
Index("ix_users_guest_state", *(users.c[c] for c in GUEST_STATE))
Index("ix_users_guest_expiry", *(users.c[c] for c in GUEST_EXPIRY))
Index("ix_users_guest_requester", *(users.c[c] for c in GUEST_REQUESTER))

invitations = Table(
    "invitations",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("ticket_hash", String(64), nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("redirect_url", String(2048), nullable=False),
    Column("send_message", Boolean, nullable=False),
    Column("requested_by", String(320)),
    Column("more", Text, nullable=False),
    Column("message_info", Text),
    Column("created_by_app", GUID),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP),
    Column("completed_at", TIMESTAMP),
    Column("revoked_at", TIMESTAMP),
    Column("expiry_reported", TIMESTAMP),  # the expires_at its invitation.expired told of (0013)
    Column("accept_us", BigInteger),  # completed_at - created_at in µs, the reports' (0023)
    Index("ix_invitations_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_invitations_user_status", "user_id", "status"),
    Index("ix_invitations_status_expiry", "status", "expires_at"),
    # The reports' window scans read only this index, and their pending list this one (0019).
    Index(
        "ix_invitations_reports",
        "tenant_id",
        "created_at",
        "status",
        "expires_at",
        "completed_at",
        "requested_by",
        "email",
    ),
    Index(
        "ix_invitations_tenant_status_created",
        "tenant_id",
        "status",
        "created_at",
        "id",
        "expires_at",
        "accept_us",  # 0023
    ),
    Index("ix_invitations_accepted", "tenant_id", "status", "accept_us", "created_at"),  # 0023
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", ROWID, primary_key=True, autoincrement=True),
    Column("tenant_id", GUID, nullable=False),
    Column("app_id", GUID),
    Column("actor", String(320)),
    Column("action", String(64), nullable=False),
    Column("target", String(400)),
    Column("request_id", String(64)),
    Column("details", Text),
    Column("created_at", TIMESTAMP, nullable=False),
    Index("ix_audit_tenant_id", "tenant_id", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("payload", Text),  # AES-GCM sealed (it holds redeem links and codes); wiped once sent
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", TIMESTAMP, nullable=False),
    Column("locked_until", TIMESTAMP),
    Column("last_error", String(500)),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("sent_at", TIMESTAMP),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

redeem_sessions = Table(
    "redeem_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("invitation_id", GUID, ForeignKey("invitations.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", String(64)),
    Column("code_expires_at", TIMESTAMP),
    Column("code_attempts", Integer, nullable=False, server_default="0"),
    Column("codes_sent", Integer, nullable=False, server_default="0"),
    Column("last_code_at", TIMESTAMP),
    Column("verified_at", TIMESTAMP),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Index("ix_redeem_sessions_invitation", "invitation_id"),
)

# Whether the user may redeem and sign in, as Graph's accountEnabled (migration 0024; the
# sponsors, once a JSON list here since 0003, are user_sponsors rows now).
users.append_column(Column("account_enabled", Boolean, nullable=False, server_default="1"))

# Sign-in registrations (migration 0004): redirect URIs and the app's own API, space-separated.
apps.append_column(Column("redirect_uris", Text, nullable=False, server_default=""))
apps.append_column(Column("public_client", Boolean, nullable=False, server_default="0"))
apps.append_column(Column("app_id_uri", String(400)))
apps.append_column(Column("api_scopes", Text, nullable=False, server_default=""))
Index("uq_apps_tenant_app_id_uri", apps.c.tenant_id, apps.c.app_id_uri, unique=True)

# Rate-limit counters (migration 0007): a hash of what is counted, hits in the window, and
# when the window ends (epoch milliseconds). See domain/throttle.py.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("window_ends", BigInteger, nullable=False),
    Index("ix_rate_limits_window_ends", "window_ends"),
)

# Events and webhooks (migration 0005): see docs/events.md.
# One row per tenant, updated in every transaction that writes an event: the row lock makes
# a tenant's events commit in the order of their numbers, so a feed cursor never skips one.
event_sequences = Table(
    "event_sequences",
    metadata,
    Column("tenant_id", GUID, primary_key=True),
    Column("last_sequence", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("sequence", BigInteger),  # NULL until the numbering pass (services/events.py)
    Column("type", String(64), nullable=False),
    Column("occurred_at", TIMESTAMP, nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON every delivery signs and sends
    UniqueConstraint("tenant_id", "sequence", name="uq_events_tenant_sequence"),
    Index("ix_events_tenant_time", "tenant_id", "occurred_at"),
    Index("ix_events_numbering", "sequence", "occurred_at", "id"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),  # no tenant row in Microsoft 365 mode (0013)
    Column("url", String(2048), nullable=False),
    Column("event_types", Text, nullable=False),  # JSON list; empty: every type
    Column("secret", Text, nullable=False),  # AES-GCM sealed: it must be used to sign
    Column("previous_secret", Text),  # sealed; signs too until previous_until
    Column("previous_until", TIMESTAMP),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("disabled_reason", String(200)),
    Column("cursor", BigInteger, nullable=False, server_default="0"),  # last event fanned out
    Column("created_at", TIMESTAMP, nullable=False),
    Column("rotated_at", TIMESTAMP),
    Index("ix_webhook_endpoints_tenant", "tenant_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", GUID, primary_key=True),
    Column(
        "endpoint_id",
        GUID,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", GUID, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", TIMESTAMP, nullable=False),
    Column("locked_until", TIMESTAMP),
    Column("last_error", String(200)),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("delivered_at", TIMESTAMP),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", ROWID, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        GUID,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("endpoint_id", GUID, nullable=False),
    Column("event_id", GUID, nullable=False),
    Column("attempted_at", TIMESTAMP, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(200)),
    Column("response_excerpt", String(500)),
    Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
)

# The shared settings `serve` records at start, one row per setting (migration 0008).
deployment = Table(
    "deployment",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", TIMESTAMP, nullable=False),
)

# Graph change notifications for users (migration 0010): each subscription keeps the number
# of the last event it was sent, as a webhook endpoint does.
graph_subscriptions = Table(
    "graph_subscriptions",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", GUID),
    Column("resource", String(64), nullable=False),
    Column("change_types", String(64), nullable=False),
    Column("notification_url", String(2048), nullable=False),
    Column("lifecycle_url", String(2048)),
    Column("client_state", Text),  # sealed: receivers check it to trust a notification
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("next_attempt_at", TIMESTAMP, nullable=False),
    Column("failing_since", TIMESTAMP),
    Column("created_at", TIMESTAMP, nullable=False),
    Index("ix_graph_subscriptions_tenant", "tenant_id", "app_id"),
)

# Pacers (migration 0011): when each one's next turn is free, epoch ms (services/pacing.py).
pacers = Table(
    "pacers",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("free_at", BigInteger, nullable=False),
)
