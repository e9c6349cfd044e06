"""The sign-in tables (OpenID Connect): challenges, sessions, codes, refresh tokens, activity.

Declared on the shared `metadata` (schema_base.py); schema.py imports them, so its
`metadata` is the whole schema. Queries: signin.py.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# Sign-in (OpenID Connect, migration 0006). Every secret here (session ids, codes, refresh
# tokens) is stored as its SHA-256 only; the values live in the browser or the app.
signin_challenges = Table(
    "signin_challenges",
    metadata,
    Column("challenge_hash", String(64), primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE")),  # NULL: no account
    Column("request", Text, nullable=False),  # the pending authorization request, sealed
    Column("code_hash", String(64)),
    Column("code_expires_at", TIMESTAMP),
    Column("code_attempts", Integer, nullable=False, server_default="0"),
    Column("codes_sent", Integer, nullable=False, server_default="0"),
    Column("last_code_at", TIMESTAMP),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    # Challenges of one user since a time (`recent_challenges`), and a user's delete cascade.
    Index("ix_signin_challenges_user_created", "user_id", "created_at"),  # migration 0012
)

signin_sessions = Table(
    "signin_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("sid", GUID, nullable=False, unique=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("auth_time", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("ended_at", TIMESTAMP),
    Index("ix_signin_sessions_user", "user_id"),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("app_id", GUID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("sid", GUID, nullable=False),
    Column("redirect_uri", String(1024), nullable=False),
    Column("scope", Text, nullable=False),
    Column("nonce", String(512)),
    Column("code_challenge", String(64)),
    Column("auth_time", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("used_at", TIMESTAMP),
    Column("family_id", GUID),  # the refresh-token family the code's redemption started
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", GUID, nullable=False),
    Column("app_id", GUID, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("sid", GUID, nullable=False),
    Column("scope", Text, nullable=False),
    Column("auth_time", TIMESTAMP, nullable=False),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("used_at", TIMESTAMP),  # rotated: presenting it again revokes the family
    Column("revoked_at", TIMESTAMP),
    Index("ix_refresh_tokens_family", "family_id"),
    Index("ix_refresh_tokens_user", "user_id"),
)

sign_in_activity = Table(
    "sign_in_activity",
    metadata,
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("last_sign_in_at", TIMESTAMP),
    Column("last_successful_sign_in_at", TIMESTAMP),
    Index("ix_sign_in_activity_last", "user_id", "last_sign_in_at"),  # the sign-in report (0021)
)
