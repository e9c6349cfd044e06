"""Bulk-invite jobs: a file's rows, invited one by one by the worker (docs/bulk.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

# A job's states: queued until a worker takes it, running, then done; cancelled when asked
# to stop (rows not yet invited stay undone); failed when it cannot go on (a lost key).
QUEUED, RUNNING, CANCELLED, DONE, FAILED = "queued", "running", "cancelled", "done", "failed"
JOB_STATES = (QUEUED, RUNNING, CANCELLED, DONE, FAILED)
FINISHED = frozenset({CANCELLED, DONE, FAILED})
# A row's: pending until invited (done), refused (failed), held for an approver (held: an
# approval request was stored instead, docs/bulk.md), or the template's example row.
PENDING, ROW_DONE, ROW_FAILED, ROW_SKIPPED = "pending", "done", "failed", "skipped"
ROW_HELD = "held"


@dataclass(frozen=True, slots=True)
class BulkJob:
    id: str
    tenant_id: str
    app_id: str | None  # the app that asked; None from the CLI
    status: str
    entra: bool  # the file was Entra's template (the results keep its headings)
    headings: tuple[str, ...]
    total: int
    created_at: str
    updated_at: str
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # rows by state, when read
    started_by: str | None = None  # the console user's address; None from an app or the CLI


@dataclass(frozen=True, slots=True)
class NewRow:
    """A row as a job is created: its input sealed, its state known if it needs no invite."""

    position: int  # 0, 1, ... in file order
    file_row: int  # its row number in the file
    sealed_input: str
    status: str = PENDING
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class JobRow:
    position: int
    file_row: int
    sealed_input: str
    status: str
    invitation_id: str | None = None
    user_id: str | None = None
    sealed_redeem_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    approval_id: str | None = None  # a held row's approval request
