"""Bulk-invite jobs and their rows (schema_bulk.py): written when a file is accepted,
leased to one worker at a time, each row's outcome written in its invitation's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from guestgate.adapters.sql.driver import Row, Transaction
from guestgate.domain.bulk_jobs import BulkJob, JobRow, NewRow

_CHUNK = 200  # rows per INSERT: 9 parameters each, far below either database's limit
_ROW_COLUMNS = "job_id, position, file_row, input, status, error_code, error_message"
# A row's outcome is written only while the row is still to do and its job still runs: a
# second worker that reaches the row, or a cancel that came first, makes the write miss,
# and the caller then rolls back the invitation made for it.
_WHILE_RUNNING = (
    " WHERE job_id = :job_id AND position = :position AND status = 'pending'"
    " AND EXISTS (SELECT 1 FROM bulk_jobs WHERE id = :job_id AND status = 'running')"
)


def _job(row: Row, counts: dict[str, int] | None = None) -> BulkJob:
    return BulkJob(
        id=row["id"],
        tenant_id=row["tenant_id"],
        app_id=row["app_id"],
        status=row["status"],
        entra=bool(row["entra"]),
        headings=tuple(json.loads(row["headings"])),
        total=row["total"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        counts=counts or {},
        started_by=row["started_by"],
    )


def _row(row: Row) -> JobRow:
    return JobRow(
        position=row["position"],
        file_row=row["file_row"],
        sealed_input=row["input"],
        status=row["status"],
        invitation_id=row["invitation_id"],
        user_id=row["user_id"],
        sealed_redeem_url=row["redeem_url"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        approval_id=row["approval_id"],
    )


class SqlBulkJobs:
    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    async def add(self, job: BulkJob, rows: Sequence[NewRow]) -> None:
        await self.tx.execute(
            "INSERT INTO bulk_jobs (id, tenant_id, app_id, started_by, status, entra, headings,"
            " total, created_at, updated_at) VALUES (:id, :tenant_id, :app_id, :started_by,"
            " :status, :entra, :headings, :total, :created_at, :created_at)",
            {
                "id": job.id,
                "tenant_id": job.tenant_id,
                "app_id": job.app_id,
                "started_by": job.started_by,
                "status": job.status,
                "entra": job.entra,
                "headings": json.dumps(list(job.headings)),
                "total": job.total,
                "created_at": job.created_at,
            },
        )
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            params: dict[str, Any] = {"job_id": job.id}
            values = []
            for i, r in enumerate(chunk):
                values.append(f"(:job_id, :p{i}, :f{i}, :i{i}, :s{i}, :c{i}, :m{i})")
                params |= {
                    f"p{i}": r.position,
                    f"f{i}": r.file_row,
                    f"i{i}": r.sealed_input,
                    f"s{i}": r.status,
                    f"c{i}": r.error_code,
                    f"m{i}": None if r.error_message is None else r.error_message[:500],
                }
            await self.tx.execute(
                f"INSERT INTO bulk_job_rows ({_ROW_COLUMNS}) VALUES {', '.join(values)}",  # noqa: S608
                params,
            )

    async def get(self, tenant_id: str, job_id: str) -> BulkJob | None:
        row = await self.tx.fetchone(
            "SELECT * FROM bulk_jobs WHERE id = :id AND tenant_id = :tenant_id",
            {"id": job_id, "tenant_id": tenant_id},
        )
        if row is None:
            return None
        counted = await self.tx.fetchall(
            "SELECT status, COUNT(*) AS n FROM bulk_job_rows WHERE job_id = :id GROUP BY status",
            {"id": job_id},
        )
        return _job(row, {r["status"]: int(r["n"]) for r in counted})

    async def list(
        self, tenant_id: str, *, started_by: str | None = None, limit: int
    ) -> Sequence[BulkJob]:
        """The tenant's newest jobs first (only `started_by`'s when given), with counts."""
        where = "tenant_id = :tenant_id" + (
            "" if started_by is None else " AND LOWER(started_by) = LOWER(:started_by)"
        )
        params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit}
        if started_by is not None:
            params["started_by"] = started_by
        jobs = await self.tx.fetchall(
            f"SELECT * FROM bulk_jobs WHERE {where}"  # noqa: S608
            " ORDER BY created_at DESC, id DESC LIMIT :limit",
            params,
        )
        if not jobs:
            return []
        ids = {f"j{i}": r["id"] for i, r in enumerate(jobs)}
        counted = await self.tx.fetchall(
            "SELECT job_id, status, COUNT(*) AS n FROM bulk_job_rows"  # noqa: S608
            f" WHERE job_id IN ({', '.join(':' + k for k in ids)}) GROUP BY job_id, status",
            ids,
        )
        counts: dict[str, dict[str, int]] = {}
        for r in counted:
            counts.setdefault(r["job_id"], {})[r["status"]] = int(r["n"])
        return [_job(r, counts.get(r["id"])) for r in jobs]

    async def claim(self, *, now: str, job_id: str | None = None) -> BulkJob | None:
        """The oldest job with work for this worker (or `job_id`), marked running: a queued
        job, a running one with rows no worker holds (new, or held by a worker that died:
        their lease ran out), or a running one with no row left to do, to be finished.
        Several workers may hold one job: each takes its own rows (`take`)."""
        free_rows = (
            "EXISTS (SELECT 1 FROM bulk_job_rows r WHERE r.job_id = bulk_jobs.id"
            " AND r.status = 'pending' AND (r.lease_until IS NULL OR r.lease_until <= :now))"
        )
        no_rows = (
            "NOT EXISTS (SELECT 1 FROM bulk_job_rows r WHERE r.job_id = bulk_jobs.id"
            " AND r.status = 'pending')"
        )
        due = (
            "SELECT id FROM bulk_jobs WHERE (status = 'queued'"  # noqa: S608
            f" OR (status = 'running' AND ({free_rows} OR {no_rows})))"
            + ("" if job_id is None else " AND id = :job_id")
            + " ORDER BY created_at, id LIMIT 1"
        )
        row = await self.tx.fetchone(
            "UPDATE bulk_jobs SET status = 'running', updated_at = :now"  # noqa: S608
            f" WHERE id IN ({due}) AND status IN ('queued', 'running') RETURNING *",
            {"now": now} | ({} if job_id is None else {"job_id": job_id}),
        )
        return None if row is None else _job(row)

    async def take(
        self, job_id: str, *, limit: int, now: str, lease_until: str
    ) -> Sequence[JobRow] | None:
        """Hold up to `limit` of the running job's rows that no worker holds, first ones
        first, until `lease_until`; None once the job no longer runs (cancelled, finished)."""
        job = await self.tx.fetchone("SELECT status FROM bulk_jobs WHERE id = :id", {"id": job_id})
        if job is None or job["status"] != "running":
            return None
        free = (
            " job_id = :id AND status = 'pending' AND (lease_until IS NULL OR lease_until <= :now)"
        )
        params = {"id": job_id, "now": now, "until": lease_until, "limit": limit}
        if self.tx.dialect == "postgresql":
            # Chosen once, in a materialized CTE that locks what it took (a LIMIT subquery
            # inside IN may run more than once and take more rows than asked), then updated
            # by primary key from it: an `IN (chosen)` beside the free-row filter was planned
            # as a loop over every pending row, 0.8 s a batch half-way through a
            # 100,000-row job (docs/performance.md).
            rows = await self.tx.fetchall(
                "WITH chosen AS MATERIALIZED (SELECT position FROM bulk_job_rows"  # noqa: S608
                f" WHERE{free} ORDER BY position LIMIT :limit FOR UPDATE SKIP LOCKED)"
                " UPDATE bulk_job_rows AS r SET lease_until = :until FROM chosen"
                " WHERE r.job_id = :id AND r.position = chosen.position RETURNING r.*",
                params,
            )
        else:  # one writer at a time: nothing can change the chosen rows in between
            rows = await self.tx.fetchall(
                f"WITH chosen AS (SELECT position FROM bulk_job_rows WHERE{free}"  # noqa: S608
                " ORDER BY position LIMIT :limit)"
                " UPDATE bulk_job_rows SET lease_until = :until"
                f" WHERE{free} AND position IN (SELECT position FROM chosen) RETURNING *",
                params,
            )
        return sorted((_row(r) for r in rows), key=lambda r: r.position)

    async def complete_row(
        self,
        job_id: str,
        position: int,
        *,
        invitation_id: str,
        user_id: str,
        sealed_redeem_url: str | None,
        now: str,
    ) -> bool:
        count = await self.tx.execute(
            "UPDATE bulk_job_rows SET status = 'done', invitation_id = :invitation_id,"  # noqa: S608
            " user_id = :user_id, redeem_url = :url, updated_at = :now" + _WHILE_RUNNING,
            {
                "job_id": job_id,
                "position": position,
                "invitation_id": invitation_id,
                "user_id": user_id,
                "url": sealed_redeem_url,
                "now": now,
            },
        )
        return count == 1

    async def fail_row(
        self, job_id: str, position: int, *, code: str, message: str, now: str
    ) -> bool:
        count = await self.tx.execute(
            "UPDATE bulk_job_rows SET status = 'failed', error_code = :code,"  # noqa: S608
            " error_message = :message, updated_at = :now" + _WHILE_RUNNING,
            {
                "job_id": job_id,
                "position": position,
                "code": code[:64],
                "message": message[:500],
                "now": now,
            },
        )
        return count == 1

    async def hold_row(
        self,
        job_id: str,
        position: int,
        *,
        approval_id: str,
        sealed_status_url: str,
        message: str,
        now: str,
    ) -> bool:
        """Mark a row held for an approver, in the transaction that stores its request."""
        count = await self.tx.execute(
            "UPDATE bulk_job_rows SET status = 'held', approval_id = :approval_id,"  # noqa: S608
            " redeem_url = :url, error_code = 'PendingApproval', error_message = :message,"
            " updated_at = :now" + _WHILE_RUNNING,
            {
                "job_id": job_id,
                "position": position,
                "approval_id": approval_id,
                "url": sealed_status_url,
                "message": message[:500],
                "now": now,
            },
        )
        return count == 1

    async def cancel(self, tenant_id: str, job_id: str, *, now: str) -> bool:
        count = await self.tx.execute(
            "UPDATE bulk_jobs SET status = 'cancelled', lease_until = NULL, updated_at = :now,"
            " finished_at = :now WHERE id = :id AND tenant_id = :tenant_id"
            " AND status IN ('queued', 'running')",
            {"id": job_id, "tenant_id": tenant_id, "now": now},
        )
        return count == 1

    async def finish(self, job_id: str, *, status: str, now: str) -> bool:
        count = await self.tx.execute(
            "UPDATE bulk_jobs SET status = :status, lease_until = NULL, updated_at = :now,"
            " finished_at = :now WHERE id = :id AND status = 'running'",
            {"id": job_id, "status": status, "now": now},
        )
        return count == 1

    async def finish_if_complete(self, job_id: str, *, now: str) -> bool:
        """Done, once no row is left to do; False while one is (or the job stopped)."""
        count = await self.tx.execute(
            "UPDATE bulk_jobs SET status = 'done', lease_until = NULL, updated_at = :now,"
            " finished_at = :now WHERE id = :id AND status = 'running' AND NOT EXISTS"
            " (SELECT 1 FROM bulk_job_rows WHERE job_id = :id AND status = 'pending')",
            {"id": job_id, "now": now},
        )
        return count == 1

    async def rows(self, job_id: str, *, after: int, limit: int) -> Sequence[JobRow]:
        """The job's rows in file order, from position `after` + 1."""
        rows = await self.tx.fetchall(
            "SELECT * FROM bulk_job_rows WHERE job_id = :id AND position > :after"
            " ORDER BY position LIMIT :limit",
            {"id": job_id, "after": after, "limit": limit},
        )
        return [_row(r) for r in rows]

    async def mark_summarized(self, job_id: str, *, now: str) -> bool:
        """True once per job: the caller then queues the requesters' summary with it."""
        count = await self.tx.execute(
            "UPDATE bulk_jobs SET summary_at = :now WHERE id = :id AND summary_at IS NULL",
            {"id": job_id, "now": now},
        )
        return count == 1

    async def purge(self, *, finished_before: str) -> int:
        """Forget jobs that finished before the cutoff, their rows (inputs, links) first."""
        old = "SELECT id FROM bulk_jobs WHERE finished_at IS NOT NULL AND finished_at < :cutoff"
        params = {"cutoff": finished_before}
        await self.tx.execute(f"DELETE FROM bulk_job_rows WHERE job_id IN ({old})", params)  # noqa: S608
        return await self.tx.execute(
            "DELETE FROM bulk_jobs WHERE finished_at IS NOT NULL AND finished_at < :cutoff", params
        )
