"""Audit records: who did what in a tenant, and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event; the fields in the order of the table's columns."""

    id: int
    tenant_id: str
    app_id: str | None
    actor: str | None
    action: str
    target: str | None
    request_id: str | None
    details: dict[str, Any] | None
    created_at: str
