"""The admin console's Reports page and its CSV downloads.

One page with every report of services/reports.py over the chosen window: each chart is SVG
drawn here on the server (bars with their numbers and labels written out, and a different
pattern for each series, so nothing depends on colour), with the same figures in a table
beside it. Administrators and readers see it, as they see every guest; the downloads are
the API's CSV tables (web/reports.py) behind the console's session instead of a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get

from guestgate.domain import reports as rules
from guestgate.domain.invitations import COMPLETED, DECLINED, EXPIRED, PENDING, REVOKED
from guestgate.errors import GuestgateError, PermissionDenied
from guestgate.services import reports
from guestgate.services.ports import UnitOfWork
from guestgate.web import reports as tables
from guestgate.web.auth import runtime_of
from guestgate.web.console import Signed, sign_in_first
from guestgate.web.console_pages import refusal, signed_page
from guestgate.web.forms import message

PENDING_SHOWN = 20
CONSOLE_TOP = 8  # requesters or domains by name in a chart
NOT_YOURS = "Your role does not let you see reports; administrators and readers see them."
# Fill patterns defined in the template, in the order series use them.
PATTERNS = ("solid", "hatch", "dots", "cross", "grid", "outline", "wave", "hatch-back", "checks")
STATE_NAMES = {
    PENDING: "Pending",
    EXPIRED: "Expired",
    COMPLETED: "Accepted",
    DECLINED: "Declined",
    REVOKED: "Revoked",
}
DOWNLOADS = {"summary", "requesters", "domains", "pending", "sign-ins"}
WIDTH = 560  # a chart's viewBox width
LABEL_WIDTH = 190  # the left margin that holds a horizontal bar's label


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    text: str  # the number written beside the bar
    pattern: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    description: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    axis: tuple[tuple[float, str], ...] = ()  # (x, label) under a column chart


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]], *, unit: str) -> Chart:
    """Horizontal bars, one per item, each with its own pattern and its number."""
    peak = max((v for _, v in items), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 70
    bars = tuple(
        Bar(
            label=label,
            value=value,
            text=f"{value:,}",
            pattern=PATTERNS[i % len(PATTERNS)],
            x=LABEL_WIDTH,
            y=10 + i * 34,
            width=max(1.0, span * value / peak) if value else 0.0,
            height=24,
        )
        for i, (label, value) in enumerate(items)
    )
    described = "; ".join(f"{label}: {value:,} {unit}" for label, value in items)
    return Chart(chart_id, title, described or "No data.", WIDTH, 20 + 34 * len(items), bars)


def column_chart(chart_id: str, title: str, items: Sequence[tuple[str, int]]) -> Chart:
    """Columns over time, one per bucket, in one pattern; the first, middle and last
    buckets are named under the axis."""
    peak = max((v for _, v in items), default=0) or 1
    height, top, bottom = 220, 24, 190
    step = (WIDTH - 40) / max(1, len(items))
    bars = tuple(
        Bar(
            label=label,
            value=value,
            text=f"{value:,}" if value else "",
            pattern="solid",
            x=30 + i * step + step * 0.1,
            y=bottom - (bottom - top) * value / peak,
            width=step * 0.8,
            height=(bottom - top) * value / peak,
        )
        for i, (label, value) in enumerate(items)
    )
    marks = sorted({0, len(items) // 2, len(items) - 1}) if items else []
    axis = tuple((30 + i * step + step / 2, items[i][0]) for i in marks)
    described = f"{len(items)} buckets from {items[0][0]} to {items[-1][0]}" if items else ""
    return Chart(chart_id, title, described or "No data.", WIDTH, height, bars, axis)


def _query(request: Request[Any, Any, Any], name: str) -> str | None:
    value: str | None = request.query_params.get(name)
    if value is None or not value.strip():
        return None  # an empty form field is the default
    if len(value) > 200:
        raise rules.bad(name, "is too long.")
    return value.strip()


async def _signed(request: Request[Any, Any, Any], tenant: str) -> Signed | Response[str]:
    signed = await sign_in_first(request, tenant)
    if isinstance(signed, Response):
        return signed
    if not signed.person.access.sees_all:
        return refusal(signed, PermissionDenied(NOT_YOURS, code="NotAnAdministrator"))
    return signed


@dataclass(frozen=True, slots=True)
class Figures:
    window: rules.Window
    bucket: str
    days: int
    summary: reports.Summary
    requesters: rules.Breakdown
    domains: rules.Breakdown
    pending: reports.PendingReport
    sign_ins: reports.SignIns


async def _figures(request: Request[Any, Any, Any], signed: Signed, top: int) -> Figures:
    runtime = runtime_of(request)
    now = runtime.now()
    tenant_id = signed.tenant.id
    window = rules.parse_window(_query(request, "from"), _query(request, "to"), now=now)
    bucket = rules.parse_bucket(_query(request, "bucket") or "week")
    days = rules.parse_int(
        "days",
        _query(request, "days"),
        default=rules.DEFAULT_PENDING_DAYS,
        low=0,
        high=rules.MAX_PENDING_DAYS,
    )
    after = tables.pending_after(runtime, tenant_id, _query(request, "after"))

    def uow() -> UnitOfWork:
        return runtime.uow(write=False)

    async def split(by: str) -> rules.Breakdown:
        return await reports.breakdown(
            uow(), tenant_id=tenant_id, by=by, window=window, bucket=bucket, top=top
        )

    return Figures(
        window=window,
        bucket=bucket,
        days=days,
        summary=await reports.summary(uow(), tenant_id=tenant_id, window=window, now=now),
        requesters=await split("requester"),
        domains=await split("domain"),
        pending=await reports.pending(
            uow(), tenant_id=tenant_id, days=days, now=now, after=after, limit=PENDING_SHOWN
        ),
        sign_ins=await reports.sign_ins(uow(), tenant_id=tenant_id, now=now),
    )


def _seconds(value: float | None) -> str:
    """A duration as a person reads it: 42 s, 17 min, 5.5 h, 3.2 days."""
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    if value < 2 * 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} days"


def _series_items(found: rules.Breakdown) -> list[tuple[str, int]]:
    return [(tables.series_label(s.key), s.total) for s in found.series]


@get("/admin/{tenant:str}/reports", include_in_schema=False)
async def reports_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    """Every report over the chosen window, as charts with their tables."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    try:
        figures = await _figures(request, signed, CONSOLE_TOP)
    except GuestgateError as exc:
        return refusal(signed, exc)
    runtime = runtime_of(request)
    summary = figures.summary
    states = [(STATE_NAMES.get(k, k), v) for k, v in summary.by_state.items()]
    over_time = [
        (day.isoformat(), sum(s.counts[i] for s in figures.requesters.series))
        for i, day in enumerate(figures.requesters.buckets)
    ]
    kept = {
        "from": tables.stamp(figures.window.start),
        "to": tables.stamp(figures.window.end),
        "bucket": figures.bucket,
    }
    following = None
    if figures.pending.next_after is not None:
        cursor = tables.pending_cursor(runtime, signed.tenant.id, figures.pending.next_after)
        following = "?" + urlencode({**kept, "days": figures.days, "after": cursor})
    base = f"/admin/{signed.tenant.id}/reports"
    return signed_page(
        signed,
        "console_reports.html",
        section="reports",
        title=f"Reports - {signed.tenant.name}",
        figures=figures,
        window_from=kept["from"],
        window_to=kept["to"],
        form={
            "from": figures.window.start.date().isoformat()
            if _query(request, "from") is None
            else _query(request, "from"),
            "to": _query(request, "to") or "",
            "bucket": figures.bucket,
            "days": figures.days,
        },
        states=states,
        waits={p: _seconds(s) for p, s in summary.time_to_accept.items()},
        outcome_chart=bar_chart(
            "chart-outcomes", "Invitations by state", states, unit="invitations"
        ),
        time_chart=column_chart("chart-time", f"Invitations per {figures.bucket}", over_time),
        requester_chart=bar_chart(
            "chart-requesters",
            "Invitations by requester",
            _series_items(figures.requesters),
            unit="invitations",
        ),
        domain_chart=bar_chart(
            "chart-domains",
            "Invitations by domain",
            _series_items(figures.domains),
            unit="invitations",
        ),
        sign_in_chart=bar_chart(
            "chart-sign-ins",
            "Guests by last sign-in",
            list(figures.sign_ins.counts.items()),
            unit="guests",
        ),
        label=tables.series_label,
        shares=rules.share(figures.sign_ins.counts),
        downloads={
            "summary": f"{base}/summary.csv?{urlencode(kept)}",
            "requesters": f"{base}/requesters.csv?{urlencode(kept)}",
            "domains": f"{base}/domains.csv?{urlencode(kept)}",
            "pending": f"{base}/pending.csv?{urlencode({'days': figures.days})}",
            "sign-ins": f"{base}/sign-ins.csv",
        },
        next_link=following,
    )


@get("/admin/{tenant:str}/reports/{file:str}", include_in_schema=False)
async def report_download(request: Request[Any, Any, Any], tenant: str, file: str) -> Response[str]:
    """One report as CSV, the API's table, for the page's window and parameters."""
    signed = await _signed(request, tenant)
    if isinstance(signed, Response):
        return signed
    name = file.removesuffix(".csv")
    if not file.endswith(".csv") or name not in DOWNLOADS:
        return message(404, "Not found", "There is no such report.", org=signed.tenant.name)
    runtime = runtime_of(request)
    now, tenant_id = runtime.now(), signed.tenant.id
    try:
        table = await _table(request, name, tenant_id, now)
    except GuestgateError as exc:
        return refusal(signed, exc)
    return tables.csv_response(table, name)


async def _table(
    request: Request[Any, Any, Any], name: str, tenant_id: str, now: datetime
) -> tables.Table:
    runtime = runtime_of(request)
    uow = runtime.uow(write=False)
    if name == "sign-ins":
        return tables.sign_ins_table(await reports.sign_ins(uow, tenant_id=tenant_id, now=now))
    if name == "pending":
        days = rules.parse_int(
            "days",
            _query(request, "days"),
            default=rules.DEFAULT_PENDING_DAYS,
            low=0,
            high=rules.MAX_PENDING_DAYS,
        )
        found = await reports.pending(
            uow, tenant_id=tenant_id, days=days, now=now, after=None, limit=rules.MAX_PAGE
        )
        return tables.pending_table(found)
    window = rules.parse_window(_query(request, "from"), _query(request, "to"), now=now)
    if name == "summary":
        summary = await reports.summary(uow, tenant_id=tenant_id, window=window, now=now)
        return tables.summary_table(summary)
    by = name.removesuffix("s")
    bucket = rules.parse_bucket(_query(request, "bucket") or "week")
    split = await reports.breakdown(
        uow, tenant_id=tenant_id, by=by, window=window, bucket=bucket, top=rules.MAX_TOP
    )
    return tables.breakdown_table(split, by)


ROUTES = [reports_page, report_download]
