"""`GET /api/reports/...`: the tenant's reports as JSON, or CSV (docs/reports.md).

Reading a report needs AuditLog.Read.All, as Graph asks for reports on sign-ins and audit
data. CSV comes with `Accept: text/csv` or `?format=csv`; its tables are shaped here and the
console's downloads use the same ones. Every parameter is read as text and checked by
domain/reports.py, so a bad one is a 400 that names it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response

from guestgate.domain import reports as rules
from guestgate.domain.apps import READ_AUDIT
from guestgate.domain.bulk_csv import spreadsheet_safe
from guestgate.domain.paging import decode_cursor, encode_cursor
from guestgate.domain.reports import Breakdown
from guestgate.errors import ValidationError
from guestgate.runtime import Runtime
from guestgate.services import reports
from guestgate.web.api import ERRORS, authorize_known_query
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.routes import get

ROUTE: dict[str, Any] = {
    "guards": [authorize_known_query],
    "tags": ["Reports"],
    "responses": ERRORS,
    "security": [{"bearer": []}],
}
WINDOW = frozenset({"from", "to", "format"})
BREAKDOWN = WINDOW | {"bucket", "top"}
PENDING = frozenset({"days", "top", "after", "format"})
CSV = "text/csv"  # Litestar adds "; charset=utf-8" to text types
NONE_LABEL, OTHERS_LABEL = "(none)", "(others)"
Table = tuple[Sequence[str], list[Sequence[Any]]]


# --- parameters -------------------------------------------------------------------------


def _text(request: Request[Any, Any, Any], name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > 200:
        raise rules.bad(name, "is too long.")
    return value


def wants_csv(request: Request[Any, Any, Any]) -> bool:
    chosen = _text(request, "format")
    if chosen is not None:
        if chosen not in ("json", "csv"):
            raise rules.bad("format", "must be json or csv.")
        return chosen == "csv"
    return "text/csv" in request.headers.get("accept", "").lower()


def window_of(query: Callable[[str], str | None], now: datetime) -> rules.Window:
    return rules.parse_window(query("from"), query("to"), now=now)


def pending_scope(tenant_id: str) -> str:
    return f"reports.pending|{tenant_id}"


def pending_after(runtime: Runtime, tenant_id: str, text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    try:
        return decode_cursor(runtime.cursor_key, pending_scope(tenant_id), text)
    except ValidationError:
        raise rules.bad("after", "is not a paging token of this report.") from None


def pending_cursor(runtime: Runtime, tenant_id: str, after: tuple[str, str]) -> str:
    return encode_cursor(runtime.cursor_key, pending_scope(tenant_id), after)


# --- the tables, for JSON and CSV alike -------------------------------------------------


def summary_answer(found: reports.Summary) -> dict[str, Any]:
    return {
        "from": stamp(found.window.start),
        "to": stamp(found.window.end),
        "invited": found.invited,
        "accepted": found.accepted,
        "acceptanceRate": found.acceptance_rate,
        "byState": found.by_state,
        "timeToAccept": {f"p{p}Seconds": s for p, s in found.time_to_accept.items()},
    }


def summary_table(found: reports.Summary) -> Table:
    answer = summary_answer(found)
    headings = ["from", "to", "invited", "accepted", "acceptanceRate", *found.by_state]
    headings += [f"p{p}Seconds" for p in found.time_to_accept]
    row = [answer["from"], answer["to"], found.invited, found.accepted, found.acceptance_rate]
    row += [*found.by_state.values(), *found.time_to_accept.values()]
    return headings, [row]


def series_label(key: str | None) -> str:
    return OTHERS_LABEL if key is None else (key or NONE_LABEL)


def breakdown_answer(found: Breakdown, by: str, window: rules.Window) -> dict[str, Any]:
    return {
        "from": stamp(window.start),
        "to": stamp(window.end),
        "bucket": found.bucket,
        "buckets": [d.isoformat() for d in found.buckets],
        "total": found.total,
        "series": [
            {
                by: s.key or None,
                "others": s.key is None,
                "total": s.total,
                "counts": list(s.counts),
            }
            for s in found.series
        ],
    }


def breakdown_table(found: Breakdown, by: str) -> Table:
    rows: list[Sequence[Any]] = [
        [day.isoformat(), series_label(s.key), count]
        for s in found.series
        for day, count in zip(found.buckets, s.counts, strict=True)
    ]
    return [found.bucket, by, "invitations"], rows


PENDING_HEADINGS = (
    "invitationId",
    "userId",
    "email",
    "displayName",
    "requestedBy",
    "createdDateTime",
    "expiresDateTime",
    "expired",
    "daysPending",
)


def pending_value(row: reports.PendingRow) -> dict[str, Any]:
    values = (
        row.invitation_id,
        row.user_id,
        row.email,
        row.display_name,
        row.requested_by,
        row.created_at,
        row.expires_at,
        row.expired,
        row.days,
    )
    return dict(zip(PENDING_HEADINGS, values, strict=True))


def pending_table(found: reports.PendingReport) -> Table:
    return PENDING_HEADINGS, [list(pending_value(r).values()) for r in found.rows]


def sign_ins_answer(found: reports.SignIns) -> dict[str, Any]:
    shares = rules.share(found.counts)
    return {
        "asOf": found.as_of,
        "total": found.total,
        "value": [
            {"category": name, "guests": n, "share": shares[name]}
            for name, n in found.counts.items()
        ],
    }


def sign_ins_table(found: reports.SignIns) -> Table:
    answer = sign_ins_answer(found)
    return ["category", "guests", "share"], [
        [v["category"], v["guests"], v["share"]] for v in answer["value"]
    ]


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return spreadsheet_safe(str(value))


def csv_text(table: Table) -> str:
    """The table as CSV (RFC 4180, CRLF), every text cell spreadsheet-safe."""
    headings, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def csv_response(table: Table, name: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        csv_text(table),
        media_type=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )


# --- routes -----------------------------------------------------------------------------


@get("/api/reports/summary", opt={"permission": READ_AUDIT, "query": WINDOW}, **ROUTE)
async def report_summary(request: Request[Any, Any, Any]) -> Response[Any]:
    """Invitations created in the window by state, the acceptance rate and the time to
    accept (p50, p90) of those accepted; `from`/`to` default to the last 90 days."""
    runtime = runtime_of(request)
    as_csv, now = wants_csv(request), runtime.now()
    found = await reports.summary(
        runtime.uow(write=False),
        tenant_id=caller_of(request).tenant_id,
        window=window_of(lambda n: _text(request, n), now),
        now=now,
    )
    if as_csv:
        return csv_response(summary_table(found), "summary")
    return Response(summary_answer(found))


async def _breakdown(request: Request[Any, Any, Any], by: str) -> Response[Any]:
    runtime = runtime_of(request)
    as_csv = wants_csv(request)
    window = window_of(lambda n: _text(request, n), runtime.now())
    bucket = rules.parse_bucket(_text(request, "bucket"))
    top = rules.parse_int(
        "top", _text(request, "top"), default=rules.DEFAULT_TOP, low=1, high=rules.MAX_TOP
    )
    found = await reports.breakdown(
        runtime.uow(write=False),
        tenant_id=caller_of(request).tenant_id,
        by=by,
        window=window,
        bucket=bucket,
        top=top,
    )
    if as_csv:
        return csv_response(breakdown_table(found, by), f"{by}s")
    return Response(breakdown_answer(found, by, window))


@get("/api/reports/requesters", opt={"permission": READ_AUDIT, "query": BREAKDOWN}, **ROUTE)
async def report_requesters(request: Request[Any, Any, Any]) -> Response[Any]:
    """Invitations per requester per day or week: the `top` requesters by count, the rest
    summed as others (`requester` null: invitations that name none)."""
    return await _breakdown(request, "requester")


@get("/api/reports/domains", opt={"permission": READ_AUDIT, "query": BREAKDOWN}, **ROUTE)
async def report_domains(request: Request[Any, Any, Any]) -> Response[Any]:
    """Invitations per invited address's domain per day or week: the `top` domains by
    count, the rest summed as others."""
    return await _breakdown(request, "domain")


@get("/api/reports/pending", opt={"permission": READ_AUDIT, "query": PENDING}, **ROUTE)
async def report_pending(request: Request[Any, Any, Any]) -> Response[Any]:
    """Invitations pending for more than `days` days (default 30), oldest first, with their
    count; follow `next` for the following page."""
    runtime = runtime_of(request)
    tenant_id = caller_of(request).tenant_id
    as_csv = wants_csv(request)
    days = rules.parse_int(
        "days",
        _text(request, "days"),
        default=rules.DEFAULT_PENDING_DAYS,
        low=0,
        high=rules.MAX_PENDING_DAYS,
    )
    top = rules.parse_int(
        "top", _text(request, "top"), default=rules.DEFAULT_PAGE, low=1, high=rules.MAX_PAGE
    )
    after = pending_after(runtime, tenant_id, _text(request, "after"))
    found = await reports.pending(
        runtime.uow(write=False),
        tenant_id=tenant_id,
        days=days,
        now=runtime.now(),
        after=after,
        limit=top,
    )
    following = None
    if found.next_after is not None:
        query = {
            "days": days,
            "top": top,
            "after": pending_cursor(runtime, tenant_id, found.next_after),
        }
        if as_csv:
            query["format"] = "csv"
        following = f"{runtime.settings.http.public_url}/api/reports/pending?{urlencode(query)}"
    if as_csv:
        link = {"Link": f'<{following}>; rel="next"'} if following else {}
        counts = {"X-Total-Count": str(found.total)}
        return csv_response(pending_table(found), "pending", link | counts)
    return Response(
        {
            "days": days,
            "createdBefore": found.before,
            "total": found.total,
            "expired": found.expired,
            "value": [pending_value(r) for r in found.rows],
            "next": following,
        }
    )


@get(
    "/api/reports/sign-ins", opt={"permission": READ_AUDIT, "query": frozenset({"format"})}, **ROUTE
)
async def report_sign_ins(request: Request[Any, Any, Any]) -> Response[Any]:
    """The tenant's guests by last sign-in, in GT365's categories (no sign-in, 0-30, 30-90,
    90-180, more than 180 days), as of now."""
    runtime = runtime_of(request)
    as_csv = wants_csv(request)
    found = await reports.sign_ins(
        runtime.uow(write=False), tenant_id=caller_of(request).tenant_id, now=runtime.now()
    )
    if as_csv:
        return csv_response(sign_ins_table(found), "sign-ins")
    return Response(sign_ins_answer(found))


ROUTES = [report_summary, report_requesters, report_domains, report_pending, report_sign_ins]
