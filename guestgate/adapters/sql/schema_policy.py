"""The invitation policy tables: each tenant's domain list, who may invite, and the
invitations waiting for an approver.

Declared on the shared `metadata` (schema_base.py); schema.py imports it, so its `metadata`
is the whole schema. Queries: invitation_policies.py.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

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
    Column("approval", Text),  # the guestgateApproval JSON (migration 0027); NULL: none
)

# An invitation held for an approver (migration 0027; domain/approvals.py). `request` is the
# validated InviteRequest as JSON; `answer` the invitation's answer once approved, sealed (it
# holds the redeem link). Decided once: every decision is an UPDATE ... WHERE status is open.
approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("status", String(32), nullable=False),
    Column("email", String(320), nullable=False),
    Column("requested_by", String(320)),
    Column("sponsors", Text, nullable=False),  # JSON list of user ids
    Column("request", Text, nullable=False),
    Column("app_id", String(64)),
    Column("asked_by", String(320)),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("expires_at", TIMESTAMP, nullable=False),
    Column("decided_at", TIMESTAMP),
    Column("decided_by", String(320)),
    Column("comment", Text),
    Column("answer", Text),
    Index("ix_approval_requests_open", "tenant_id", "status", "created_at"),
    Index("ix_approval_requests_expiry", "status", "expires_at"),
)
