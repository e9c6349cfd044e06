"""The answers and request bodies /openapi.json states for the bulk-invite routes
(web/bulk.py), beside `openapi_facts.ROUTE_ERRORS`; tests/e2e/test_openapi.py provokes each."""

from __future__ import annotations

from typing import Any

from guestgate.domain.apps import INVITE
from guestgate.web.openapi_facts import (
    EXAMPLE_ID,
    NO_TOKEN,
    TOO_LARGE,
    UNKNOWN_QUERY,
    Answer,
    api_error,
    denied,
)

JOBS = "/api/bulk/invitations"
JOB = "/api/bulk/invitations/{job_id}"
NO_JOB: Answer = (
    "No bulk job of the caller's tenant has this id",
    api_error("BulkJobNotFound", f"There is no bulk job {EXAMPLE_ID} in this organization."),
)
BAD_FILE: Answer = (
    "The file cannot be used (encoding, version line, headings, quoting, a cell over 12,000"
    " characters, a NUL, over 100,000 rows), a multipart upload without exactly one file"
    " field, or checkOnly is not true or false; the message names the row and column, and"
    " nothing is stored",
    api_error(
        "InvalidCsvHeadings",
        "Row 2: no column [inviteRedirectURL]. Headings read: 'Email address to invite"
        " [inviteeEmail] Required'",
    ),
)
NOT_CSV: Answer = (
    "The body is neither text/csv nor a multipart/form-data upload",
    api_error(
        "UnsupportedMediaType", "Send the file as text/csv, or as multipart/form-data (file)."
    ),
)
BULK_ERRORS: dict[tuple[str, str], dict[int, Answer]] = {
    (JOBS, "post"): {
        400: BAD_FILE,
        401: NO_TOKEN,
        403: denied(INVITE),
        413: TOO_LARGE,
        415: NOT_CSV,
    },
    (JOB, "get"): {400: UNKNOWN_QUERY, 401: NO_TOKEN, 403: denied(INVITE), 404: NO_JOB},
    (f"{JOB}/results", "get"): {
        400: UNKNOWN_QUERY,
        401: NO_TOKEN,
        403: denied(INVITE),
        404: NO_JOB,
    },
    (f"{JOB}/cancel", "post"): {
        400: UNKNOWN_QUERY,
        401: NO_TOKEN,
        403: denied(INVITE),
        404: NO_JOB,
        413: TOO_LARGE,
    },
}
EXAMPLE_FILE = (
    "version:v1.0\n"
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    " Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    " message [customizedMessageBody]\n"
    'alice@fabrikam.com,https://myapplications.microsoft.com,TRUE,"Welcome to Contoso"\n'
)
_CHECK = {
    "type": "object",
    "properties": {
        "rows": {"type": "integer"},
        "valid": {"type": "integer"},
        "invalid": {"type": "integer"},
        "skipped": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
        "needsApproval": {
            "type": "integer",
            "description": "valid rows the invitation policy would hold for an approver",
        },
        "approvalRows": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "their row numbers (at most 1,000 listed)",
        },
    },
}


def document(paths: dict[str, Any]) -> None:
    """The upload's two body types, the check's 200 and the results' CSV, in place."""
    upload = paths.get(JOBS, {}).get("post")
    if upload is not None:
        upload["requestBody"] = {
            "required": True,
            "description": "Entra's bulk-invite template or a plain CSV (docs/bulk.md)",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": EXAMPLE_FILE},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
        upload.setdefault("responses", {})["200"] = {
            "description": "checkOnly=true: the rows that would fail; nothing was stored",
            "content": {"application/json": {"schema": _CHECK}},
        }
    cancel = paths.get(f"{JOB}/cancel", {}).get("post")
    if cancel is not None:
        cancel["requestBody"] = {
            "required": False,
            "description": "Takes no body (at most 1 KiB is read).",
            "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0}}},
        }
    results = paths.get(f"{JOB}/results", {}).get("get")
    if results is not None:
        for answer in results.get("responses", {}).values():
            answer["content"] = {"text/csv": {"schema": {"type": "string"}}}
