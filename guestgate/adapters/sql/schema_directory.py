"""A user's sponsors, whether it may sign in, the deleted users kept for restore, and
Microsoft 365 mode's invitation ids.

Declared on the shared `metadata` (schema_base.py); schema.py imports them, so its
`metadata` is the whole schema. Queries: users.py, deleted_users.py and graph_invitations.py.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# A guest's sponsors (migration 0024): at most five rows per user (domain/invitations.py
# MAX_SPONSORS), in the order they were added. A sponsor's rows go when the sponsor is
# deleted; "the guests I sponsor" is a range of ix_user_sponsors_sponsor.
user_sponsors = Table(
    "user_sponsors",
    metadata,
    Column("user_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("sponsor_id", GUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("position", Integer, nullable=False),
    Index("ix_user_sponsors_sponsor", "tenant_id", "sponsor_id", "user_id"),
)

# Deleted users (migration 0024), as Entra's deleted items: the users row is gone (and with
# it its invitations, sessions and tokens), its stored form kept here for 30 days so a
# restore brings back the same id, sponsors and state. The address key and
# userPrincipalName stay here, so a restore can tell whether a live user took them meanwhile.
deleted_users = Table(
    "deleted_users",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("email_key", String(320), nullable=False),
    Column("upn_key", Text, nullable=False),
    Column("deleted_at", TIMESTAMP, nullable=False),
    Column("record", Text, nullable=False),  # the user's row and sponsors, as JSON
    Index("ix_deleted_users_tenant", "tenant_id", "deleted_at", "id"),
    Index("ix_deleted_users_upn", "tenant_id", "upn_key"),
    Index("ix_deleted_users_purge", "deleted_at"),
)

# Microsoft 365 mode's invitations (migration 0028): Graph answers an invitation with its id
# and keeps nothing under it, so guestgate keeps which guest user each one made, written in
# the transaction that follows the Graph call. No foreign key: the tenant lives in Entra.
graph_invitations = Table(
    "graph_invitations",
    metadata,
    Column("tenant_id", GUID, primary_key=True),
    Column("invitation_id", GUID, primary_key=True),
    Column("user_id", GUID, nullable=False),
    Column("created_at", TIMESTAMP, nullable=False),
    # The lifecycle pass reads each guest's latest invitation, a page of guests at a time
    # (migration 0030).
    Index("ix_graph_invitations_user", "tenant_id", "user_id", "created_at"),
)
