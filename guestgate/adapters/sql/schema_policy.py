"""The invitation policy table: each tenant's domain list and who may invite.

Declared on the shared `metadata` (schema_base.py); schema.py imports it, so its `metadata`
is the whole schema. Queries: invitation_policies.py.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# One row per tenant that set a policy (migration 0014); no row: Entra's defaults (no domain
# list, allowInvitesFrom everyone). No foreign key to tenants: in Microsoft 365 mode the
# tenant lives in Entra and has no row here.
invitation_policies = Table(
    "invitation_policies",
    metadata,
    Column("tenant_id", GUID, primary_key=True),
    Column("definition", Text, nullable=False),  # Entra's B2B management policy JSON
    Column("allow_invites_from", String(64), nullable=False),
    Column("updated_at", TIMESTAMP, nullable=False),
)
