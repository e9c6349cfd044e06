"""The answers, query parameters and CSV bodies /openapi.json states for the report routes
(web/reports.py), beside `openapi_facts.ROUTE_ERRORS`; tests/e2e/test_reports_api.py
provokes each error answer."""

from __future__ import annotations

from typing import Any

from guestgate.domain import reports as rules
from guestgate.domain.apps import READ_AUDIT
from guestgate.web.openapi_facts import NO_TOKEN, Answer, api_error, denied

SUMMARY = "/api/reports/summary"
REQUESTERS = "/api/reports/requesters"
DOMAINS = "/api/reports/domains"
PENDING = "/api/reports/pending"
SIGN_INS = "/api/reports/sign-ins"
BAD_PARAMETER: Answer = (
    "A parameter is malformed or out of range, or one the route does not take; the message"
    " names it",
    api_error(
        "InvalidReportParameter",
        "from: must be a date (2026-03-01) or an ISO 8601 time with a zone.",
    ),
)
_ERRORS: dict[int, Answer] = {400: BAD_PARAMETER, 401: NO_TOKEN, 403: denied(READ_AUDIT)}
REPORT_ERRORS: dict[tuple[str, str], dict[int, Answer]] = {
    (path, "get"): _ERRORS for path in (SUMMARY, REQUESTERS, DOMAINS, PENDING, SIGN_INS)
}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_TIME = {"type": "string", "example": "2026-03-01"}
FORMAT = _query(
    "format",
    "csv for a CSV file (as Accept: text/csv gives); json by default",
    {"type": "string", "enum": ["json", "csv"]},
)
WINDOW = [
    _query(
        "from",
        "Start of the window (a date, or ISO 8601 with a zone); default: to − 90 days",
        _TIME,
    ),
    _query(
        "to", "End of the window, not included; default: now. At most 731 days after from", _TIME
    ),
]
BREAKDOWN = [
    *WINDOW,
    _query(
        "bucket",
        "day or week (ISO weeks, from Monday)",
        {"type": "string", "enum": list(rules.BUCKETS)},
    ),
    _query(
        "top",
        "How many requesters or domains by name; the rest are one series, others",
        {"type": "integer", "minimum": 1, "maximum": rules.MAX_TOP, "default": rules.DEFAULT_TOP},
    ),
]
PARAMETERS: dict[str, list[dict[str, Any]]] = {
    SUMMARY: [*WINDOW, FORMAT],
    REQUESTERS: [*BREAKDOWN, FORMAT],
    DOMAINS: [*BREAKDOWN, FORMAT],
    PENDING: [
        _query(
            "days",
            "Pending for more than this many days",
            {
                "type": "integer",
                "minimum": 0,
                "maximum": rules.MAX_PENDING_DAYS,
                "default": rules.DEFAULT_PENDING_DAYS,
            },
        ),
        _query(
            "top",
            "Invitations per page",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": rules.MAX_PAGE,
                "default": rules.DEFAULT_PAGE,
            },
        ),
        _query("after", "The paging token from `next`", {"type": "string"}),
        FORMAT,
    ],
    SIGN_INS: [FORMAT],
}
_COUNTS = {"type": "integer", "minimum": 0}
_SERIES = {
    "type": "object",
    "properties": {
        "buckets": {"type": "array", "items": {"type": "string", "format": "date"}},
        "bucket": {"type": "string"},
        "total": _COUNTS,
        "series": {"type": "array", "items": {"type": "object"}},
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    SUMMARY: {
        "type": "object",
        "properties": {
            "from": {"type": "string", "format": "date-time"},
            "to": {"type": "string", "format": "date-time"},
            "invited": _COUNTS,
            "accepted": _COUNTS,
            "acceptanceRate": {"type": ["number", "null"]},
            "byState": {"type": "object", "additionalProperties": _COUNTS},
            "timeToAccept": {
                "type": "object",
                "additionalProperties": {"type": ["number", "null"]},
            },
        },
    },
    REQUESTERS: _SERIES,
    DOMAINS: _SERIES,
    PENDING: {
        "type": "object",
        "properties": {
            "days": _COUNTS,
            "total": _COUNTS,
            "expired": _COUNTS,
            "value": {"type": "array", "items": {"type": "object"}},
            "next": {"type": ["string", "null"]},
        },
    },
    SIGN_INS: {
        "type": "object",
        "properties": {
            "asOf": {"type": "string", "format": "date-time"},
            "total": _COUNTS,
            "value": {"type": "array", "items": {"type": "object"}},
        },
    },
}
CSV_EXAMPLES = {
    SUMMARY: "from,to,invited,accepted,acceptanceRate,PendingAcceptance,Expired,Completed,"
    "Declined,Revoked,p50Seconds,p90Seconds\r\n"
    "2026-09-02T09:30:00Z,2026-12-01T09:30:00Z,412,301,0.7306,38,41,301,12,20,5400.2,172800.5\r\n",
    REQUESTERS: "day,requester,invitations\r\n2026-11-30,ann@contoso.example,4\r\n",
    DOMAINS: "day,domain,invitations\r\n2026-11-30,fabrikam.example,7\r\n",
    PENDING: "invitationId,userId,email,displayName,requestedBy,createdDateTime,"
    "expiresDateTime,expired,daysPending\r\n",
    SIGN_INS: "category,guests,share\r\n0 (No Login),12,0.2\r\n1 (0-30 days),30,0.5\r\n",
}


def document(paths: dict[str, Any]) -> None:
    """The report routes' query parameters and their JSON and CSV answers, in place."""
    for path, parameters in PARAMETERS.items():
        operation = paths.get(path, {}).get("get")
        if operation is None:
            continue
        operation["parameters"] = parameters
        operation.setdefault("responses", {})["200"] = {
            "description": "The report; CSV with format=csv or Accept: text/csv",
            "content": {
                "application/json": {"schema": SCHEMAS[path]},
                "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLES[path]},
            },
        }
