"""The admin console's Audit log page and its CSV export.

The tenant's audit trail newest first, filtered by actor, action, target and time (the
filters combine), paged by id; the export is the filtered view as CSV, every text cell
spreadsheet-safe, streamed in batches. Administrators and readers see it
(services/console_audit.py); a bad filter is the page again with a 400 naming it. The same
page in both modes, over each console's frame (web/console_guest_routes.py `ConsoleFrame`;
`audit_routes` builds it): Microsoft 365 mode keeps the audit trail of what guestgate does
in Entra in guestgate's database, with the signed-in person or app as the actor.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Stream

from guestgate.domain.audit import AuditRecord
from guestgate.domain.bulk_csv import spreadsheet_safe
from guestgate.errors import GuestgateError
from guestgate.services import console_audit as audit
from guestgate.services.ports import UnitOfWork
from guestgate.web.auth import runtime_of
from guestgate.web.console_guest_actions import LOCAL
from guestgate.web.console_guest_routes import ConsoleFrame
from guestgate.web.errors import status_of
from guestgate.web.forms import PAGE_HEADERS

FILTERS = ("actor", "action", "target", "from", "to")
HEADINGS = ("id", "time", "actor", "appId", "action", "target", "requestId", "details")


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    # Bounded here so the page can show what was typed; check_filter names what is too long.
    return {k: str(request.query_params.get(k, ""))[:1000] for k in FILTERS}


def _where(query: dict[str, str]) -> audit.AuditFilter:
    return audit.check_filter(
        actor=query["actor"],
        action=query["action"],
        target=query["target"],
        start=query["from"],
        end=query["to"],
    )


def shown(value: Any) -> str:
    """A detail's value as a person reads it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _row(record: AuditRecord) -> list[str]:
    cells = [
        record.created_at,
        record.actor or "",
        record.app_id or "",
        record.action,
        record.target or "",
        record.request_id or "",
        "" if record.details is None else json.dumps(record.details, ensure_ascii=False),
    ]
    return [str(record.id), *(spreadsheet_safe(c) for c in cells)]


async def _lines(batches: AsyncIterator[Any]) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    yield out.getvalue()
    async for rows in batches:
        out.seek(0)
        out.truncate()
        writer.writerows(_row(r) for r in rows)
        yield out.getvalue()


def audit_routes(frame: ConsoleFrame[Any]) -> list[HTTPRouteHandler]:
    """The Audit log page and its CSV export over `frame`."""

    @get("/admin/{tenant:str}/audit", include_in_schema=False)
    async def audit_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
        """The tenant's audit trail newest first, filtered, 50 rows a page."""
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        person = frame.person(signed)
        try:
            audit.require_view(person)
        except GuestgateError as exc:
            return frame.refusal(signed, exc)
        runtime = runtime_of(request)
        query = _query(request)
        kept = {k: v for k, v in query.items() if v}
        context: dict[str, Any] = {"rows": [], "next_link": None, "error": None}
        status = 200
        try:
            where = _where(query)
            before = audit.check_before(str(request.query_params.get("before", ""))[:40])
            found = await audit.page(
                runtime.uow(write=False), person=person, where=where, before=before
            )
            context["rows"] = found.rows
            if found.next_before is not None:
                context["next_link"] = f"?{urlencode({**kept, 'before': found.next_before})}"
            context["first_link"] = f"?{urlencode(kept)}" if before is not None else None
            context["filtered"] = not where.empty
        except GuestgateError as exc:
            if status_of(exc) != 400:
                return frame.refusal(signed, exc)
            status, context["error"] = 400, exc.message
        return frame.page(
            request,
            signed,
            "console_audit.html",
            status=status,
            section="audit",
            title="Audit log",
            shown=shown,
            form=query,
            export_link=f"{frame.base(signed)}/audit.csv" + (f"?{urlencode(kept)}" if kept else ""),
            **context,
        )

    @get("/admin/{tenant:str}/audit.csv", include_in_schema=False)
    async def audit_export(request: Request[Any, Any, Any], tenant: str) -> Response[Any]:
        """The filtered view as CSV, newest first (at most 100,000 rows)."""
        signed = await frame.signed(request, tenant)
        if isinstance(signed, Response):
            return signed
        person = frame.person(signed)
        runtime = runtime_of(request)
        try:
            audit.require_view(person)
            where = _where(_query(request))
        except GuestgateError as exc:
            return frame.refusal(signed, exc)

        def uow() -> UnitOfWork:
            return runtime.uow(write=False)

        return Stream(
            _lines(audit.export(uow, person=person, where=where)),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="audit.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"],
            },
        )

    return [audit_page, audit_export]


ROUTES = audit_routes(LOCAL)
