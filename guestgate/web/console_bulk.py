"""The admin console's Bulk pages: upload a CSV file, follow its job, download the results.

The same pages in both modes, over each console's frame (web/console_guest_routes.py
`ConsoleFrame`; `bulk_routes` builds them): Microsoft 365 mode runs the same bulk jobs, whose
rows the worker invites through Microsoft Graph. The upload is a multipart form with the
console's CSRF token, bounded as the API's upload is; "check only" lists the bad rows and
stores nothing. A job's page shows its counts and works without JavaScript (its Refresh
link); a small same-origin script, allowed by that page's CSP alone, polls the counts and
reloads the page when the job ends. The results file
is the API's, row for row. services/console_bulk.py decides who may see and do what.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler

from guestgate.domain import bulk_jobs as states
from guestgate.domain.bulk_csv import MAX_BYTES, MAX_ROWS
from guestgate.domain.bulk_jobs import BulkJob
from guestgate.domain.tenants import is_guid
from guestgate.errors import GuestgateError
from guestgate.services import bulk, bulk_held
from guestgate.services import console_bulk as jobs
from guestgate.web.auth import runtime_of
from guestgate.web.console_guest_actions import LOCAL
from guestgate.web.console_guest_routes import ConsoleFrame
from guestgate.web.errors import status_of
from guestgate.web.forms import PAGE_HEADERS, message, see_other

STATIC = Path(__file__).with_name("static")
BODY_BYTES = MAX_BYTES + 64 * 1024  # the file, and the multipart envelope around it
LIST_SIZE = 50
STATE_LABELS = {
    states.QUEUED: "Queued",
    states.RUNNING: "Running",
    states.DONE: "Done",
    states.CANCELLED: "Cancelled",
    states.FAILED: "Failed",
}
STATE_CLASSES = {
    states.QUEUED: "state-pending",
    states.RUNNING: "state-pending",
    states.DONE: "state-accepted",
    states.CANCELLED: "state-revoked",
    states.FAILED: "state-revoked",
}
# The job page alone runs a script: this origin's own file, which reads the counts here.
JOB_CSP = PAGE_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"


def started_by(job: BulkJob) -> str:
    """Who started a job, as its pages name them."""
    if job.started_by:
        return job.started_by
    return f"App {job.app_id}" if job.app_id else "Command line"


def _job_id(value: str) -> str:
    if not is_guid(value):
        raise bulk.job_not_found(value)
    return value.lower()


def bulk_routes(frame: ConsoleFrame[Any]) -> list[HTTPRouteHandler]:
    """The Bulk invite pages over `frame`: the list and upload, a job, its progress, its
    results file and cancel."""

    def page(
        request: Request[Any, Any, Any],
        signed: Any,
        template: str,
        status: int = 200,
        **context: Any,
    ) -> Response[str]:
        return frame.page(
            request,
            signed,
            template,
            status=status,
            section="bulk",
            labels=STATE_LABELS,
            classes=STATE_CLASSES,
            started_by=started_by,
            progress_of=jobs.Progress.of,
            max_mib=MAX_BYTES // (1024 * 1024),
            max_rows=MAX_ROWS,
            **context,
        )

    async def signed_in(request: Request[Any, Any, Any], tenant: str) -> Any:
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        try:
            jobs.require_view(frame.person(signed))
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        return signed

    async def listing(
        signed: Any, request: Request[Any, Any, Any], **context: Any
    ) -> Response[str]:
        runtime = runtime_of(request)
        try:
            rows = await jobs.list_jobs(runtime.uow, person=frame.person(signed), limit=LIST_SIZE)
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        status = context.pop("status", 200)
        return page(
            request,
            signed,
            "console_bulk.html",
            status,
            title="Bulk invite",
            rows=rows,
            **{"check_only": False, **context},
        )

    @get("/admin/{tenant:str}/bulk", include_in_schema=False)
    async def bulk_list(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """The tenant's recent bulk jobs, and the form to upload a file."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        return await listing(signed, request)

    async def upload(
        request: Request[Any, Any, Any], signed: Any
    ) -> tuple[dict[str, str], bytes | None] | Response[str]:
        """The upload form's fields and file, or the page refusing it (CSRF, origin, size)."""
        runtime = runtime_of(request)
        refused = message(
            403, "This request was refused", "The form was not sent by this console's page."
        )
        origin = request.headers.get("origin")
        public = runtime.settings.http.public_url.split("/", 3)
        if origin not in (None, "null") and origin != "/".join(public[:3]):
            return refused
        media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if media != "multipart/form-data":
            return refused
        try:
            form = await request.form()
        except RequestEntityTooLarge:
            return message(
                413,
                "The file is too large",
                f"A file may hold up to {MAX_BYTES // (1024 * 1024)} MiB.",
            )
        except ClientException:
            return refused
        fields = {k: v for k in ("csrf", "check") if isinstance(v := form.get(k), str)}
        if not frame.checks_token(request, signed, fields):
            return refused
        uploaded = form.get("file")
        data = None
        if isinstance(uploaded, UploadFile):
            data = await uploaded.read(MAX_BYTES + 1)
            await uploaded.close()
        return fields, data or None

    @post(
        "/admin/{tenant:str}/bulk",
        include_in_schema=False,
        request_max_body_size=BODY_BYTES,
        status_code=303,
    )
    async def bulk_upload(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """Check a file, or store it as a job in the signed-in person's name and open its
        page."""
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        person = frame.person(signed)
        try:
            jobs.require_start(person)
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        got = await upload(request, signed)
        if isinstance(got, Response):
            return got
        fields, data = got
        check_only = fields.get("check") == "yes"
        if data is None:
            return await listing(
                signed,
                request,
                status=400,
                error="Choose a CSV file to upload.",
                check_only=check_only,
            )
        runtime = runtime_of(request)
        try:
            parsed = await jobs.read_file(person, data)
            if check_only:
                waiting = await bulk_held.rows_needing_approval(
                    runtime.uow, tenant_id=person.tenant_id, parsed=parsed
                )
                checked = jobs.check(parsed, waiting)
                return await listing(signed, request, checked=checked, check_only=True)
            if runtime.worker.bulk is None:
                return await listing(
                    signed,
                    request,
                    status=409,
                    error="Bulk jobs need guestgate's own app registration in the Microsoft"
                    " 365 tenant (GUESTGATE_GRAPH_CLIENT_ID).",
                )
            job = await jobs.start(
                runtime.uow,
                person=person,
                actor=frame.actor(request, signed),
                parsed=parsed,
                sealer=runtime.sealer,
                now=runtime.now(),
            )
        except GuestgateError as exc:
            if status_of(exc) == 403:
                return frame.refusal(signed, exc)
            return await listing(
                signed, request, status=status_of(exc), error=exc.message, check_only=check_only
            )
        runtime.worker.bulk.wake()
        return see_other(f"{frame.base(signed)}/bulk/{job.id}")

    async def find(signed: Any, request: Request[Any, Any, Any], job_id: str) -> BulkJob:
        return await jobs.get_job(
            runtime_of(request).uow, person=frame.person(signed), job_id=_job_id(job_id)
        )

    @get("/admin/{tenant:str}/bulk/{job_id:str}", include_in_schema=False)
    async def bulk_job(request: Request[Any, Any, Any], tenant: str, job_id: str) -> Response[str]:
        """A job: its state and counts while it runs, cancel, and its results file once
        done."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        try:
            job = await find(signed, request, job_id)
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        shown = page(
            request,
            signed,
            "console_bulk_job.html",
            title="Bulk job",
            job=job,
            progress=jobs.Progress.of(job),
            cancelled=request.query_params.get("done") == "cancelled",
        )
        shown.headers["Content-Security-Policy"] = JOB_CSP
        return shown

    @get("/admin/{tenant:str}/bulk/{job_id:str}/progress", include_in_schema=False)
    async def bulk_progress(
        request: Request[Any, Any, Any], tenant: str, job_id: str
    ) -> Response[Any]:
        """A job's counts as JSON, for the job page's script."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        try:
            job = await find(signed, request, job_id)
        except GuestgateError as exc:
            status = status_of(exc)
            return Response({"error": exc.code}, status_code=status, headers=PAGE_HEADERS)
        p = jobs.Progress.of(job)
        return Response(
            {
                "status": p.status,
                "label": STATE_LABELS.get(p.status, p.status),
                "total": p.total,
                "done": p.done,
                "failed": p.failed,
                "held": p.held,
                "skipped": p.skipped,
                "remaining": p.remaining,
                "finished": p.finished,
            },
            headers={"Cache-Control": "no-store"},
        )

    @get("/admin/{tenant:str}/bulk/{job_id:str}/results", include_in_schema=False)
    async def bulk_results(
        request: Request[Any, Any, Any], tenant: str, job_id: str
    ) -> Response[Any]:
        """The job's results file: the file's rows with their outcome, as the API serves
        it."""
        signed = await signed_in(request, tenant)
        if isinstance(signed, Response):
            return signed
        runtime = runtime_of(request)
        try:
            text = await jobs.results(
                runtime.uow,
                person=frame.person(signed),
                sealer=runtime.sealer,
                job_id=_job_id(job_id),
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        return Response(
            text.encode(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="bulk-{job_id.lower()}-results.csv"',
                "Cache-Control": "no-store",
            },
        )

    @post("/admin/{tenant:str}/bulk/{job_id:str}/cancel", include_in_schema=False, status_code=303)
    async def bulk_cancel(
        request: Request[Any, Any, Any], tenant: str, job_id: str
    ) -> Response[str]:
        """Stop a job at its next row; rows already invited stay invited."""
        checked = await frame.form(request, tenant)
        if isinstance(checked, Response):
            return checked
        signed, _ = checked
        runtime = runtime_of(request)
        try:
            job = await jobs.cancel(
                runtime.uow,
                person=frame.person(signed),
                actor=frame.actor(request, signed),
                job_id=_job_id(job_id),
                now=runtime.now(),
            )
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        return see_other(f"{frame.base(signed)}/bulk/{job.id}?done=cancelled")

    return [bulk_list, bulk_upload, bulk_job, bulk_progress, bulk_results, bulk_cancel]


@get("/static/console_bulk.js", include_in_schema=False)
async def script() -> Response[bytes]:
    return Response(
        (STATIC / "console_bulk.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/static/bulk-invite-template.csv", include_in_schema=False)
async def template() -> Response[bytes]:
    """Entra's bulk-invite template: the version line, the headings and the example row."""
    return Response(
        (STATIC / "bulk-invite-template.csv").read_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="BulkInviteTemplate.csv"',
            "Cache-Control": "public, max-age=3600",
        },
    )


STATIC_ROUTES = [script, template]
ROUTES = [*bulk_routes(LOCAL), *STATIC_ROUTES]
