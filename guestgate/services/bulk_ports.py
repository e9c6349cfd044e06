"""The bulk-invite job store the services depend on (adapters/sql/bulk_jobs.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from guestgate.domain.bulk_jobs import BulkJob, JobRow, NewRow


class BulkJobs(Protocol):
    async def add(self, job: BulkJob, rows: Sequence[NewRow]) -> None: ...
    async def get(self, tenant_id: str, job_id: str) -> BulkJob | None: ...
    async def list(
        self, tenant_id: str, *, started_by: str | None = None, limit: int
    ) -> Sequence[BulkJob]: ...
    async def claim(self, *, now: str, job_id: str | None = None) -> BulkJob | None: ...
    async def take(
        self, job_id: str, *, limit: int, now: str, lease_until: str
    ) -> Sequence[JobRow] | None: ...
    async def complete_row(
        self,
        job_id: str,
        position: int,
        *,
        invitation_id: str,
        user_id: str,
        sealed_redeem_url: str | None,
        now: str,
    ) -> bool: ...
    async def fail_row(
        self, job_id: str, position: int, *, code: str, message: str, now: str
    ) -> bool: ...
    async def hold_row(
        self,
        job_id: str,
        position: int,
        *,
        approval_id: str,
        sealed_status_url: str,
        message: str,
        now: str,
    ) -> bool: ...
    async def cancel(self, tenant_id: str, job_id: str, *, now: str) -> bool: ...
    async def finish(self, job_id: str, *, status: str, now: str) -> bool: ...
    async def finish_if_complete(self, job_id: str, *, now: str) -> bool: ...
    async def rows(self, job_id: str, *, after: int, limit: int) -> Sequence[JobRow]: ...
    async def mark_summarized(self, job_id: str, *, now: str) -> bool: ...
    async def purge(self, *, finished_before: str) -> int: ...
