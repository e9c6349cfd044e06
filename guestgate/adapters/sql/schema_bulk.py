"""The bulk-invite tables: jobs and their rows (docs/bulk.md).

Declared on the shared `metadata` (schema_base.py); schema.py imports them, so its
`metadata` is the whole schema. Queries: bulk_jobs.py.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from guestgate.adapters.sql.schema_base import GUID, TIMESTAMP, metadata

# Migration 0016. No foreign key to tenants: in Microsoft 365 mode the tenant lives in
# Entra. Every worker may work on a running job: each takes its rows a batch at a time (the
# rows' `lease_until`); the job's own `lease_until` is no longer used (kept for old rows).
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("tenant_id", GUID, nullable=False),
    Column("app_id", GUID),
    Column("started_by", String(320)),  # the console user's address (migration 0017)
    Column("status", String(16), nullable=False),
    Column("entra", Boolean, nullable=False),  # the file was Entra's template
    Column("headings", Text, nullable=False),  # JSON list of the file's headings
    Column("total", Integer, nullable=False),
    Column("lease_until", TIMESTAMP),
    Column("created_at", TIMESTAMP, nullable=False),
    Column("updated_at", TIMESTAMP, nullable=False),
    Column("finished_at", TIMESTAMP),
    Column("summary_at", TIMESTAMP),  # when requesters were told (once per job)
    Index("ix_bulk_jobs_tenant_created", "tenant_id", "created_at"),
    Index("ix_bulk_jobs_status_created", "status", "created_at"),
)

# A row's input and redeem link are sealed (they hold addresses, names and a ticket); the
# redeem link is kept so the results file can list it, as Entra's does.
bulk_job_rows = Table(
    "bulk_job_rows",
    metadata,
    Column("job_id", GUID, ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("file_row", Integer, nullable=False),
    Column("input", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("invitation_id", GUID),
    Column("user_id", GUID),
    Column("redeem_url", Text),
    Column("error_code", String(64)),
    Column("error_message", String(500)),
    Column("updated_at", TIMESTAMP),
    # Migration 0020: a pending row is held by the worker that took it until then.
    Column("lease_until", TIMESTAMP),
    # Migration 0029: a row held for an approver names its approval request; its status URL
    # is sealed in redeem_url, where the results file lists it.
    Column("approval_id", GUID),
    Index("ix_bulk_job_rows_status", "job_id", "status", "position"),
)
