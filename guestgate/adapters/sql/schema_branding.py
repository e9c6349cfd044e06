"""The tenant's logo image (migration 0028), served by guestgate at /branding/{tenant}/logo
so its pages show it without loading anything from another origin.

Declared on the shared `metadata` (schema_base.py); schema.py imports it, so its `metadata`
is the whole schema. Queries: tenants.py.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# At most one row per tenant. `image` is the file base64-encoded (a portable text column on
# both databases; at most 256 KiB before encoding, domain/branding.py); `etag` is its SHA-256.
tenant_logos = Table(
    "tenant_logos",
    metadata,
    Column("tenant_id", GUID, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("content_type", String(32), nullable=False),
    Column("image", Text, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("updated_at", TIMESTAMP, nullable=False),
)
