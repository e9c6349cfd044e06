"""The admin console's tables: role assignments and console sessions.

Declared on the shared `metadata` (schema_base.py); schema.py imports them, so its
`metadata` is the whole schema. Queries: roles.py, console_sessions.py.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# Who holds which console role (migration 0015): one row per user and role. A user's
# rows go with the user.
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("assigned_at", TIMESTAMP, nullable=False),
    Index("ix_role_assignments_user", "user_id"),
)

# A signed-in console browser (migration 0015): the cookie's value lives only in the
# browser; its SHA-256 is the key here.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("ended_at", TIMESTAMP),
    Column("signed_in_at", TIMESTAMP),  # the ID token's auth_time (migration 0022)
    Index("ix_console_sessions_user", "user_id"),
)
