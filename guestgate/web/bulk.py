"""Bulk invites from a CSV file over HTTP: upload, status, results, cancel (docs/bulk.md).

`POST /api/bulk/invitations` takes Entra's bulk-invite template or a plain CSV, as the body
(`text/csv`) or as the `file` field of a multipart upload. The whole file is validated first:
a problem with the file itself is a 400 naming the row and column, and nothing is stored.
With `checkOnly=true` the answer lists the rows that would fail, and nothing is stored
either; otherwise the rows become a job, answered 202 with its status URL, and the worker
invites them (services/bulk.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.datastructures import UploadFile

from guestgate.domain import bulk_jobs as states
from guestgate.domain.apps import INVITE
from guestgate.domain.bulk_csv import MAX_BYTES
from guestgate.domain.bulk_jobs import BulkJob
from guestgate.domain.tenants import is_guid
from guestgate.errors import Conflict, UnsupportedMediaType, ValidationError
from guestgate.services import bulk, bulk_held
from guestgate.web.api import PROTECTED, actor_of
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.routes import get, post

# The file, and a multipart envelope around it.
BODY_BYTES = MAX_BYTES + 64 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})
MAX_LISTED = 1000  # bad rows a check lists; the count covers them all
ROUTE: dict[str, Any] = {**PROTECTED, "tags": ["Bulk"]}


class RowProblem(msgspec.Struct):
    row: int
    code: str
    message: str


class BulkCheck(msgspec.Struct):
    """The answer of a check (`checkOnly=true`): nothing was stored."""

    rows: int
    valid: int
    invalid: int
    skipped: int
    errors: list[RowProblem]
    warnings: list[str]
    needsApproval: int = 0  # valid rows the invitation policy would hold for an approver
    approvalRows: list[int] = []  # their row numbers (at most 1,000 listed)


class BulkJobAnswer(msgspec.Struct):
    id: str
    status: str
    totalRequests: int
    succeeded: int
    failed: int
    held: int  # waiting for an approver: an approval request each, nothing sent
    skipped: int
    pending: int
    createdDateTime: str
    lastUpdatedDateTime: str
    finishedDateTime: str | None
    statusUrl: str
    resultsUrl: str
    warnings: list[str] = []


def _answer(request: Request[Any, Any, Any], job: BulkJob, warnings: list[str]) -> BulkJobAnswer:
    url = f"{runtime_of(request).settings.http.public_url}/api/bulk/invitations/{job.id}"
    counts = job.counts
    pending = counts.get(states.PENDING, 0)
    return BulkJobAnswer(
        id=job.id,
        status=job.status,
        totalRequests=job.total,
        succeeded=counts.get(states.ROW_DONE, 0),
        failed=counts.get(states.ROW_FAILED, 0),
        held=counts.get(states.ROW_HELD, 0),
        skipped=counts.get(states.ROW_SKIPPED, 0),
        pending=pending,
        createdDateTime=job.created_at,
        lastUpdatedDateTime=job.updated_at,
        finishedDateTime=job.finished_at,
        statusUrl=url,
        resultsUrl=f"{url}/results",
        warnings=warnings,
    )


def _check_only(value: str | None) -> bool:
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise ValidationError("checkOnly must be true or false.", code="InvalidCheckOnly")


async def _file(request: Request[Any, Any, Any]) -> bytes:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media in CSV_TYPES:
        return await request.body()  # refused with 413 while it is read, past BODY_BYTES
    if media == "multipart/form-data":
        form = await request.form()
        uploads = form.getall("file", [])
        if len(uploads) > 1:
            # Which one would be invited? Refused rather than guessed.
            raise ValidationError(
                "The upload has more than one file field; send one file.", code="TooManyFiles"
            )
        upload = uploads[0] if uploads else None
        if not isinstance(upload, UploadFile):
            raise ValidationError("The upload has no file field.", code="MissingFile")
        data = await upload.read(MAX_BYTES + 1)
        await upload.close()
        return data
    raise UnsupportedMediaType("Send the file as text/csv, or as multipart/form-data (file).")


def _job_id(value: str) -> str:
    if not is_guid(value):
        raise bulk.job_not_found(value)
    return value.lower()


@post(
    "/api/bulk/invitations",
    opt={"permission": INVITE, "query": frozenset({"checkOnly"})},
    request_max_body_size=BODY_BYTES,
    status_code=202,
    **ROUTE,
)
async def upload_bulk(request: Request[Any, Any, Any]) -> Response[Any]:
    """Invite the rows of a CSV file (Entra's template or plain CSV) as a job; answers 202
    with its status URL, or 200 with the bad rows and nothing stored when `checkOnly=true`."""
    check_only = _check_only(request.query_params.get("checkOnly"))
    # A file of up to 32 MiB is parsed off the event loop: other requests go on meanwhile.
    parsed = await asyncio.to_thread(bulk.check, await _file(request))
    warnings = list(parsed.warnings)
    if check_only:
        bad = [r for r in parsed.rows if r.error is not None]
        problems = [
            RowProblem(row=r.number, code=r.error.code, message=r.error.message)
            for r in bad[:MAX_LISTED]
            if r.error is not None
        ]
        skipped = sum(1 for r in parsed.rows if r.skipped)
        waiting = await bulk_held.rows_needing_approval(
            runtime_of(request).uow, tenant_id=caller_of(request).tenant_id, parsed=parsed
        )
        answer = BulkCheck(
            rows=len(parsed.rows),
            valid=len(parsed.rows) - len(bad) - skipped,
            invalid=len(bad),
            skipped=skipped,
            errors=problems,
            warnings=warnings,
            needsApproval=len(waiting),
            approvalRows=waiting[:MAX_LISTED],
        )
        return Response(answer, status_code=200)
    runtime = runtime_of(request)
    if runtime.worker.bulk is None:
        raise Conflict(
            "Bulk jobs need guestgate's own app registration in the Microsoft 365 tenant"
            " (GUESTGATE_GRAPH_CLIENT_ID): a job runs later, without the caller's token.",
            code="BulkJobsUnavailable",
        )
    job = await bulk.create_job(
        runtime.uow,
        sealer=runtime.sealer,
        actor=actor_of(request),
        parsed=parsed,
        now=runtime.now(),
    )
    if runtime.worker.bulk is not None:
        runtime.worker.bulk.wake()
    job = await bulk.get_job(runtime.uow, tenant_id=job.tenant_id, job_id=job.id)
    answer_job = _answer(request, job, warnings)
    return Response(answer_job, status_code=202, headers={"Location": answer_job.statusUrl})


@get("/api/bulk/invitations/{job_id:str}", opt={"permission": INVITE}, **ROUTE)
async def get_bulk(request: Request[Any, Any, Any], job_id: str) -> BulkJobAnswer:
    """A bulk job's state and its rows' counts."""
    job = await bulk.get_job(
        runtime_of(request).uow, tenant_id=caller_of(request).tenant_id, job_id=_job_id(job_id)
    )
    return _answer(request, job, [])


@get(
    "/api/bulk/invitations/{job_id:str}/results",
    opt={"permission": INVITE},
    media_type="text/csv; charset=utf-8",
    **ROUTE,
)
async def bulk_results(request: Request[Any, Any, Any], job_id: str) -> Response[bytes]:
    """The results file, row for row: the file's columns, then status, error code, error
    message, user id and inviteRedeemUrl (redeem links are secrets: keep the file safe)."""
    runtime = runtime_of(request)
    text = await bulk.results(
        runtime.uow,
        sealer=runtime.sealer,
        tenant_id=caller_of(request).tenant_id,
        job_id=_job_id(job_id),
    )
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="bulk-{job_id.lower()}-results.csv"',
            "Cache-Control": "no-store",
        },
    )


@post(
    "/api/bulk/invitations/{job_id:str}/cancel",
    opt={"permission": INVITE},
    request_max_body_size=1024,
    status_code=200,
    **ROUTE,
)
async def cancel_bulk(request: Request[Any, Any, Any], job_id: str) -> BulkJobAnswer:
    """Stop a job at its next row; rows already invited stay invited."""
    await request.body()  # takes no body; reading it enforces the size limit
    runtime = runtime_of(request)
    job = await bulk.cancel_job(
        runtime.uow,
        tenant_id=caller_of(request).tenant_id,
        job_id=_job_id(job_id),
        now=runtime.now(),
    )
    return _answer(request, job, [])


ROUTES = [upload_bulk, get_bulk, bulk_results, cancel_bulk]
