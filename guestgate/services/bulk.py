"""Bulk invites from a CSV file: the check, the job, its run in the worker, its results.

A file is parsed and validated whole when it arrives (domain/bulk_csv.py); a job stores each
row sealed, those that failed validation already failed. A worker leases the job and
invites its rows in order, a batch at a time, through `InvitationService`, so the
invitation gate, the audit trail and graph mode's pacing apply to every row.

Never twice: a row is marked done inside its invitation's own transaction, and only while
it is still to do and its job still runs (adapters/sql/bulk_jobs.py). A worker that dies
mid-row leaves neither the invitation nor the mark; one that took over a row another
already did, or reached a row after a cancel, finds its mark refused and rolls its
invitation back. In Microsoft 365 mode the invitation is made by Microsoft Graph first and
only its records are written in the transaction (docs/bulk.md says what that leaves).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from guestgate.domain import bulk_csv
from guestgate.domain import bulk_jobs as states
from guestgate.domain.bulk_csv import BulkFile, Columns, ResultRow
from guestgate.domain.bulk_jobs import BulkJob, JobRow, NewRow
from guestgate.domain.emails import EmailAddress, parse_email
from guestgate.domain.invitations import InviteRequest
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.timestamps import iso
from guestgate.domain.views import InvitationView
from guestgate.errors import GuestgateError, JobStopped, NotFound, PendingApproval, ValidationError
from guestgate.services.bulk_held import mark_held
from guestgate.services.directory import Actor
from guestgate.services.invitations import InvitationService
from guestgate.services.ports import Sealer, UnitOfWork

log = logging.getLogger("guestgate.bulk")
MakeUow = Callable[..., UnitOfWork]
Progress = Callable[[BulkJob], None]
PAGE = 1000  # rows read at a time for the results file and the summary


def job_not_found(job_id: str) -> NotFound:
    return NotFound(
        f"There is no bulk job {job_id[:64]} in this organization.", code="BulkJobNotFound"
    )


def _input_context(job_id: str, position: int) -> str:
    return f"guestgate bulk row v1:{job_id}:{position}"


def _link_context(job_id: str, position: int) -> str:
    return f"guestgate bulk link v1:{job_id}:{position}"


def request_of(job: BulkJob, columns: Columns, cells: Sequence[str]) -> InviteRequest:
    """A row's invitation; in a job started in the console, a row that names no requester
    is requested by the person who started it (as the console's own invite form does)."""
    request = bulk_csv.request_of(columns, cells)
    if request.requested_by is None and job.started_by:
        request = replace(request, requested_by=parse_email(job.started_by, field="requestedBy"))
    return request


def check(data: bytes) -> BulkFile:
    """Parse and validate a file; refuses one with no row to invite."""
    parsed = bulk_csv.parse(data)
    if not parsed.rows:
        raise ValidationError("The file has no rows below its headings.", code="CsvNoRows")
    return parsed


async def create_job(
    make_uow: MakeUow,
    *,
    sealer: Sealer,
    actor: Actor,
    parsed: BulkFile,
    now: datetime,
    rng: Randomness = SYSTEM,
) -> BulkJob:
    """Store the file's rows as a queued job; rows that failed validation are failed. A job
    started in the console (`actor.user`) names that person; the start is audited."""
    job_id = rng.uuid()
    rows: list[NewRow] = []
    for position, row in enumerate(parsed.rows):
        sealed = sealer.seal(json.dumps(row.cells).encode(), _input_context(job_id, position))
        status = states.PENDING
        if row.skipped:
            status = states.ROW_SKIPPED
        elif row.error is not None:
            status = states.ROW_FAILED
        rows.append(
            NewRow(
                position=position,
                file_row=row.number,
                sealed_input=sealed,
                status=status,
                error_code=None if row.error is None else row.error.code,
                error_message=None if row.error is None else row.error.message,
            )
        )
    stamp = iso(now)
    job = BulkJob(
        id=job_id,
        tenant_id=actor.tenant_id,
        app_id=actor.app_id or None,
        status=states.QUEUED,
        entra=parsed.columns.entra,
        headings=parsed.columns.headings,
        total=len(rows),
        created_at=stamp,
        updated_at=stamp,
        started_by=actor.user,
    )
    async with make_uow() as uow:
        await uow.bulk_jobs.add(job, rows)
        await uow.audit.record(
            tenant_id=actor.tenant_id,
            app_id=actor.app_id or None,
            actor=actor.user,
            action="bulk.create",
            target=job_id,
            request_id=actor.request_id,
            created_at=stamp,
            details={"rows": len(rows), "entra": parsed.columns.entra},
        )
        await uow.commit()
    return job


async def get_job(make_uow: MakeUow, *, tenant_id: str, job_id: str) -> BulkJob:
    async with make_uow(write=False) as uow:
        job = await uow.bulk_jobs.get(tenant_id, job_id)
    if job is None:
        raise job_not_found(job_id)
    return job


async def list_jobs(
    make_uow: MakeUow, *, tenant_id: str, started_by: str | None = None, limit: int = 50
) -> Sequence[BulkJob]:
    """The tenant's newest jobs (only those `started_by` started, when given)."""
    async with make_uow(write=False) as uow:
        return await uow.bulk_jobs.list(tenant_id, started_by=started_by, limit=limit)


async def cancel_job(
    make_uow: MakeUow,
    *,
    tenant_id: str,
    job_id: str,
    now: datetime,
    actor: Actor | None = None,
) -> BulkJob:
    """Stop a job at its next row; a finished job stays as it is. With `actor`, a cancel
    that stopped the job is audited."""
    async with make_uow() as uow:
        if await uow.bulk_jobs.get(tenant_id, job_id) is None:
            raise job_not_found(job_id)
        stopped = await uow.bulk_jobs.cancel(tenant_id, job_id, now=iso(now))
        if stopped and actor is not None:
            await uow.audit.record(
                tenant_id=tenant_id,
                app_id=actor.app_id or None,
                actor=actor.user,
                action="bulk.cancel",
                target=job_id,
                request_id=actor.request_id,
                created_at=iso(now),
            )
        await uow.commit()
    return await get_job(make_uow, tenant_id=tenant_id, job_id=job_id)


def _cells(sealer: Sealer, job_id: str, row: JobRow) -> tuple[str, ...]:
    cells = json.loads(sealer.open(row.sealed_input, _input_context(job_id, row.position)))
    return tuple(str(c) for c in cells)


def _result(sealer: Sealer, job: BulkJob, row: JobRow) -> ResultRow:
    cells = _cells(sealer, job.id, row)
    url = ""  # a done row's redeem link; a held row's approval status URL
    if row.sealed_redeem_url is not None and row.status in (states.ROW_DONE, states.ROW_HELD):
        url = sealer.open(row.sealed_redeem_url, _link_context(job.id, row.position)).decode()
    if row.status == states.ROW_DONE:
        return ResultRow(cells, bulk_csv.SUCCESS, user_id=row.user_id or "", redeem_url=url)
    if row.status == states.ROW_FAILED:
        return ResultRow(cells, bulk_csv.FAILURE, row.error_code or "", row.error_message or "")
    if row.status == states.ROW_HELD:
        held, message = bulk_csv.PENDING_APPROVAL, row.error_message or ""
        return ResultRow(cells, held, held, message, row.approval_id or "", url)
    if row.status == states.ROW_SKIPPED:
        return ResultRow(cells, bulk_csv.SKIPPED, "ExampleRow", "The template's example row.")
    if job.status == states.CANCELLED:
        return ResultRow(cells, bulk_csv.SKIPPED, "JobCancelled", "The job was cancelled first.")
    return ResultRow(cells, "Pending")


async def results(make_uow: MakeUow, *, sealer: Sealer, tenant_id: str, job_id: str) -> str:
    """The results file, row for row (domain/bulk_csv.py `results_csv`)."""
    job = await get_job(make_uow, tenant_id=tenant_id, job_id=job_id)
    rows: list[ResultRow] = []
    after = -1
    while True:
        async with make_uow(write=False) as uow:
            page = await uow.bulk_jobs.rows(job.id, after=after, limit=PAGE)
        rows.extend(_result(sealer, job, r) for r in page)
        if len(page) < PAGE:
            break
        after = page[-1].position
    return bulk_csv.results_csv(job.headings, rows)


@dataclass
class BulkRunner:
    """Runs jobs: claims one, invites its rows a batch at a time, then tells requesters."""

    make_uow: MakeUow
    invitations: InvitationService
    sealer: Sealer
    now: Callable[[], datetime]
    batch: int = 500
    concurrency: int = 32  # invitations in flight: they share the databases' group commits
    lease_seconds: float = 60.0

    def _lease_until(self) -> str:
        return iso(self.now() + timedelta(seconds=self.lease_seconds))

    async def claim(self, job_id: str | None = None) -> BulkJob | None:
        async with self.make_uow() as uow:
            job = await uow.bulk_jobs.claim(now=iso(self.now()), job_id=job_id)
            await uow.commit()
        return job

    async def run_once(self, *, stop: asyncio.Event | None = None) -> bool:
        """Work on one job with rows to do (or to finish) until none is left for this
        worker (or `stop`); False when there was none."""
        job = await self.claim()
        if job is None:
            return False
        await self.run(job, stop=stop)
        return True

    async def run(
        self, job: BulkJob, *, stop: asyncio.Event | None = None, progress: Progress | None = None
    ) -> None:
        """Invite the job's rows a batch at a time, in order, until none is left to take.

        Every worker that claimed the job does this at once, each on the rows it took; the
        one that finds no row left to do at all finishes the job and tells its requesters.
        """
        columns = bulk_csv.columns_of(job.headings, entra=job.entra)
        actor = Actor(
            tenant_id=job.tenant_id,
            app_id=job.app_id,
            request_id=f"bulk-{job.id}",
            user=job.started_by,  # the audit trail names the console user who started it
        )
        while True:
            async with self.make_uow() as uow:
                rows = await uow.bulk_jobs.take(
                    job.id, limit=self.batch, now=iso(self.now()), lease_until=self._lease_until()
                )
                await uow.commit()
            if rows is None:
                break  # cancelled (or finished by another worker)
            if not rows:
                # None free: done if none is left to do; else other workers hold the rest.
                async with self.make_uow() as uow:
                    await uow.bulk_jobs.finish_if_complete(job.id, now=iso(self.now()))
                    await uow.commit()
                break
            try:
                await self._invite(job, actor, columns, rows)
            finally:
                if progress is not None:
                    progress(await get_job(self.make_uow, tenant_id=job.tenant_id, job_id=job.id))
            if stop is not None and stop.is_set():
                return
        current = await get_job(self.make_uow, tenant_id=job.tenant_id, job_id=job.id)
        if current.status in (states.DONE, states.CANCELLED):
            await self._summarize(job, actor)

    async def _invite(
        self, job: BulkJob, actor: Actor, columns: Columns, rows: Sequence[JobRow]
    ) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        failures: list[tuple[int, GuestgateError]] = []
        stopped = False

        async def one(row: JobRow) -> None:
            nonlocal stopped
            async with gate:
                if stopped:
                    return
                try:
                    cells = _cells(self.sealer, job.id, row)
                    request = request_of(job, columns, cells)
                except GuestgateError as exc:
                    failures.append((row.position, bulk_csv.row_error(row.file_row, exc)))
                    return

                async def mark(uow: UnitOfWork, view: InvitationView, now: datetime) -> None:
                    url = view.redeem_url
                    sealed = None
                    if url:
                        sealed = self.sealer.seal(url.encode(), _link_context(job.id, row.position))
                    if not await uow.bulk_jobs.complete_row(
                        job.id,
                        row.position,
                        invitation_id=view.id,
                        user_id=view.user_id,
                        sealed_redeem_url=sealed,
                        now=iso(now),
                    ):
                        raise JobStopped

                async def hold(uow: UnitOfWork, held: PendingApproval, now: datetime) -> None:
                    if not await mark_held(
                        uow,
                        self.sealer,
                        job_id=job.id,
                        position=row.position,
                        held=held,
                        context=_link_context(job.id, row.position),
                        now=iso(now),
                    ):
                        raise JobStopped

                try:
                    await self.invitations.invite_in_job(actor, request, also=mark, also_held=hold)
                except JobStopped:
                    stopped = True
                except PendingApproval:
                    pass  # the row is marked held, in the request's transaction
                except GuestgateError as exc:
                    failures.append((row.position, exc))
                except Exception:
                    # The row alone failed; the job goes on. Logged without its values.
                    log.exception("bulk row failed", extra={"job": job.id, "row": row.file_row})
                    failures.append(
                        (
                            row.position,
                            GuestgateError("An unexpected error occurred; it was logged."),
                        )
                    )

        await asyncio.gather(*(one(r) for r in rows))
        if failures:
            async with self.make_uow() as uow:
                for position, exc in failures:
                    await uow.bulk_jobs.fail_row(
                        job.id, position, code=exc.code, message=exc.message, now=iso(self.now())
                    )
                await uow.commit()

    async def _summarize(self, job: BulkJob, actor: Actor) -> None:
        """One mail to each requester of the job's invited guests (and, apart, those held
        for an approver), once per job: the mark and the mail commit together."""
        columns = bulk_csv.columns_of(job.headings, entra=job.entra)
        invited: list[tuple[EmailAddress, str]] = []
        held: list[tuple[EmailAddress, str]] = []
        requesters: dict[str, EmailAddress] = {}
        after = -1
        while True:
            async with self.make_uow(write=False) as uow:
                page = await uow.bulk_jobs.rows(job.id, after=after, limit=PAGE)
            for row in page:
                if row.status not in (states.ROW_DONE, states.ROW_HELD):
                    continue
                # Only the two cells the summary needs: the row was checked when invited.
                named, guest = bulk_csv.requester_and_guest(
                    columns, _cells(self.sealer, job.id, row)
                )
                requester = named or job.started_by
                if requester:
                    if requester not in requesters:  # a file names few, on many rows
                        requesters[requester] = parse_email(requester, field="requestedBy")
                    to = held if row.status == states.ROW_HELD else invited
                    to.append((requesters[requester], parse_email(guest).address))
            if len(page) < PAGE:
                break
            after = page[-1].position
        if not invited and not held:
            return
        governance = self.invitations.governance
        async with self.make_uow() as uow:
            if not await uow.bulk_jobs.mark_summarized(job.id, now=iso(self.now())):
                return
            mailed = await governance.summarize_in(uow, actor, invited, held=held)
            await uow.commit()
        if mailed:
            self.invitations.wake()
