"""The guest lifecycle tables (migration 0025): policies, their versions, the scheduler's
steps, sponsors' keeps and the attestation links already used.

Declared on the shared `metadata` (schema_base.py); schema.py imports them, so its `metadata`
is the whole schema. Queries: lifecycle.py and lifecycle_steps.py.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# No foreign key to tenants or users: in Microsoft 365 mode both live in Entra.
lifecycle_policies = Table(
    "lifecycle_policies",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("body", Text, nullable=False),  # the policy's Graph JSON, as validated
    Column("created_at", TIMESTAMP, nullable=False),
    Column("modified_at", TIMESTAMP, nullable=False),
    Column("deleted_at", TIMESTAMP),  # soft delete, as Graph's
    Index("ix_lifecycle_policies_tenant", "tenant_id", "created_at"),
)

# Every version of every policy, read-only history (Graph's `versions`).
lifecycle_policy_versions = Table(
    "lifecycle_policy_versions",
    metadata,
    Column("policy_id", GUID, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", Text, nullable=False),
    Column("created_at", TIMESTAMP, nullable=False),
)

# One row per step the scheduler took (or is taking): the key makes each step run once.
lifecycle_steps = Table(
    "lifecycle_steps",
    metadata,
    Column("policy_id", GUID, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("user_id", GUID, primary_key=True),
    Column("step", String(16), primary_key=True),  # notify, disable, delete
    Column("due_on", String(10), primary_key=True),  # the UTC day it fell due
    Column("tenant_id", GUID, nullable=False),
    Column("status", String(16), nullable=False),  # claimed, done
    Column("claimed_at", TIMESTAMP, nullable=False),
    Column("done_at", TIMESTAMP),
    Index("ix_lifecycle_steps_claimed", "status", "claimed_at"),
    Index("ix_lifecycle_steps_user", "tenant_id", "user_id", "step"),
)

# A sponsor's last keep of each guest: it moves every rule's clock.
lifecycle_attestations = Table(
    "lifecycle_attestations",
    metadata,
    Column("user_id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("kept_at", TIMESTAMP, nullable=False),
    Column("kept_by", String(320), nullable=False),
)

# The ids of attestation links already used: each link works once.
lifecycle_links = Table(
    "lifecycle_links",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("user_id", GUID, nullable=False),
    Column("used_at", TIMESTAMP, nullable=False),
)
