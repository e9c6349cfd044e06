"""Bulk invites from a CSV file: `guestgate bulk invite|resume|status|results` (docs/bulk.md).

`invite` checks the file, stores it as a job and runs the job in this process, showing its
progress on stderr, then writes the results file. In Microsoft 365 mode the job runs in
`serve` (which holds the Graph client) and the command follows its progress.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from guestgate.bootstrap import running
from guestgate.cli.directory import run
from guestgate.cli.output import emit
from guestgate.config import Settings
from guestgate.domain import bulk_jobs as states
from guestgate.domain.bulk_csv import MAX_BYTES, BulkFile
from guestgate.domain.bulk_jobs import BulkJob
from guestgate.domain.tenants import is_guid
from guestgate.errors import NotFound, ValidationError
from guestgate.runtime import Runtime
from guestgate.services import bulk, bulk_held, tenants
from guestgate.services.directory import Actor

POLL_SECONDS = 1.0


def _tenant_id(settings: Settings, ref: str) -> str:
    """The tenant's id; in Microsoft 365 mode the tenant lives in Entra: its GUID then."""
    try:
        tenant = run(settings, lambda rt: tenants.get_tenant(rt.uow(write=False), ref))
    except NotFound:
        if is_guid(ref):
            return ref.lower()
        raise
    return str(tenant.id)


def job_json(job: BulkJob) -> dict[str, Any]:
    counts = job.counts
    return {
        "id": job.id,
        "status": job.status,
        "totalRequests": job.total,
        "succeeded": counts.get(states.ROW_DONE, 0),
        "failed": counts.get(states.ROW_FAILED, 0),
        "held": counts.get(states.ROW_HELD, 0),
        "skipped": counts.get(states.ROW_SKIPPED, 0),
        "pending": counts.get(states.PENDING, 0),
        "createdDateTime": job.created_at,
        "finishedDateTime": job.finished_at,
    }


class ProgressLine:
    """One line on stderr, rewritten in place on a terminal; elsewhere a line now and then."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = 0.0

    def __call__(self, job: BulkJob) -> None:
        done = job.total - job.counts.get(states.PENDING, 0)
        now = time.monotonic()
        if not self.tty and now - self.shown < 2.0 and done < job.total:
            return
        self.shown = now
        line = f"{done}/{job.total} rows: {job.counts.get(states.ROW_DONE, 0)} invited,"
        if held := job.counts.get(states.ROW_HELD, 0):
            line += f" {held} held for approval,"
        line += f" {job.counts.get(states.ROW_FAILED, 0)} failed"
        sys.stderr.write(f"\r{line}" if self.tty else f"{line}\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _read(path: str) -> bytes:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_BYTES:
            raise ValidationError(f"The file is larger than {MAX_BYTES} bytes.", code="CsvTooLarge")
        return file.read_bytes()
    except OSError as exc:
        raise ValidationError(
            f"{path} cannot be read: {exc.strerror}.", code="CsvUnreadable"
        ) from None


def _write(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8", newline="")


def check_json(parsed: BulkFile, waiting: list[int]) -> dict[str, Any]:
    """The check's answer; `waiting`, the rows the policy would hold for an approver."""
    bad = [r for r in parsed.rows if r.error is not None]
    skipped = sum(1 for r in parsed.rows if r.skipped)
    return {
        "rows": len(parsed.rows),
        "valid": len(parsed.rows) - len(bad) - skipped,
        "invalid": len(bad),
        "skipped": skipped,
        "errors": [
            {"row": r.number, "code": r.error.code, "message": r.error.message}
            for r in bad
            if r.error is not None
        ],
        "needsApproval": len(waiting),
        "approvalRows": waiting,
        "warnings": list(parsed.warnings),
    }


async def _follow(runtime: Runtime, job: BulkJob, progress: ProgressLine) -> BulkJob:
    """Work on the job here when this process may (local mode), beside any `serve` that
    works on it too, else watch `serve` run it. Rows a dead process held are taken once its
    lease runs out."""
    worker = runtime.worker.bulk
    while True:
        claimed = None if worker is None else await worker.runner.claim(job.id)
        if worker is not None and claimed is not None:
            await worker.runner.run(claimed, progress=progress)
        current = await bulk.get_job(runtime.uow, tenant_id=job.tenant_id, job_id=job.id)
        progress(current)
        if current.status in states.FINISHED:
            return current
        await asyncio.sleep(POLL_SECONDS)


async def _finish(runtime: Runtime, job: BulkJob, args: argparse.Namespace) -> dict[str, Any]:
    progress = ProgressLine()
    try:
        job = await _follow(runtime, job, progress)
    finally:
        progress.end()
    answer = job_json(job)
    if args.results:
        text = await bulk.results(
            runtime.uow, sealer=runtime.sealer, tenant_id=job.tenant_id, job_id=job.id
        )
        await asyncio.to_thread(_write, args.results, text)
        answer["results"] = args.results
    return answer


def cmd_invite(settings: Settings, args: argparse.Namespace) -> None:
    parsed = bulk.check(_read(args.file))
    for warning in parsed.warnings:
        print(f"guestgate: warning: {warning}", file=sys.stderr)
    tenant_id = _tenant_id(settings, args.tenant)
    if args.check_only:
        waiting = run(
            settings,
            lambda rt: bulk_held.rows_needing_approval(rt.uow, tenant_id=tenant_id, parsed=parsed),
        )
        emit(check_json(parsed, waiting), as_json=args.json)
        return

    async def main() -> dict[str, Any]:
        async with running(settings) as runtime:
            job = await bulk.create_job(
                runtime.uow,
                sealer=runtime.sealer,
                actor=Actor(tenant_id=tenant_id, app_id=None),
                parsed=parsed,
                now=runtime.now(),
            )
            print(f"guestgate: bulk job {job.id}", file=sys.stderr)
            return await _finish(runtime, job, args)

    emit(asyncio.run(main()), as_json=args.json)


def cmd_resume(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)

    async def main() -> dict[str, Any]:
        async with running(settings) as runtime:
            job = await bulk.get_job(runtime.uow, tenant_id=tenant_id, job_id=args.job.lower())
            return await _finish(runtime, job, args)

    emit(asyncio.run(main()), as_json=args.json)


def cmd_status(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)

    async def main() -> dict[str, Any]:
        async with running(settings) as runtime:
            job = await bulk.get_job(runtime.uow, tenant_id=tenant_id, job_id=args.job.lower())
            answer = job_json(job)
            if args.results:
                text = await bulk.results(
                    runtime.uow, sealer=runtime.sealer, tenant_id=tenant_id, job_id=job.id
                )
                await asyncio.to_thread(_write, args.results, text)
                answer["results"] = args.results
            return answer

    emit(asyncio.run(main()), as_json=args.json)


def cmd_cancel(settings: Settings, args: argparse.Namespace) -> None:
    tenant_id = _tenant_id(settings, args.tenant)

    async def main() -> dict[str, Any]:
        async with running(settings) as runtime:
            job = await bulk.cancel_job(
                runtime.uow, tenant_id=tenant_id, job_id=args.job.lower(), now=runtime.now()
            )
            return job_json(job)

    emit(asyncio.run(main()), as_json=args.json)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("bulk", help="bulk invites from a CSV file (Entra's template)")
    commands = group.add_subparsers(dest="bulk_command", required=True, metavar="COMMAND")
    invite = commands.add_parser("invite", help="invite every row of a CSV file")
    invite.add_argument("file", metavar="FILE.csv")
    invite.add_argument("--tenant", required=True, help="tenant id or domain")
    invite.add_argument(
        "--check-only",
        action="store_true",
        help="list the rows that would fail or wait for an approver; store nothing",
    )
    invite.add_argument("--results", metavar="OUT.csv", help="write the results file here")
    invite.add_argument("--json", action="store_true")
    invite.set_defaults(func=cmd_invite)
    resume = commands.add_parser("resume", help="go on with a job whose process stopped")
    status = commands.add_parser("status", help="a job's state and counts")
    cancel = commands.add_parser("cancel", help="stop a job at its next row")
    for command, func in ((resume, cmd_resume), (status, cmd_status), (cancel, cmd_cancel)):
        command.add_argument("job", metavar="JOB_ID")
        command.add_argument("--tenant", required=True, help="tenant id or domain")
        if command is not cancel:
            command.add_argument("--results", metavar="OUT.csv", help="write the results file")
        command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)
