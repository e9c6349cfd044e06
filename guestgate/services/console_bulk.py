"""What the admin console's Bulk pages show and do, within the signed-in person's roles.

In both modes, administrators and Guest inviters start jobs; Readers see them and change
nothing; a Guest inviter sees the jobs it started. Checks, jobs, cancels and results go
through the API's own bulk use-cases (services/bulk.py) with the person as the actor, so
the audit trail names them, and a row that names no requester is requested by them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from guestgate.domain import bulk_jobs as states
from guestgate.domain.bulk_csv import BulkFile, ParsedRow, row_error
from guestgate.domain.bulk_jobs import BulkJob
from guestgate.domain.roles import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from guestgate.domain.roles import ConsolePerson as Person
from guestgate.domain.users import fold
from guestgate.errors import PermissionDenied, ValidationError
from guestgate.services import bulk
from guestgate.services.bulk import MakeUow
from guestgate.services.directory import Actor
from guestgate.services.ports import Sealer

MAX_LISTED = 1000  # bad rows a check lists; its counts cover them all
READ_ONLY = "Your role lets you see bulk jobs, not start or cancel them."


@dataclass(frozen=True, slots=True)
class Problem:
    row: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Check:
    """A check-only pass over a file: nothing was stored or sent."""

    rows: int
    valid: int
    invalid: int
    skipped: int
    problems: list[Problem]
    warnings: tuple[str, ...]
    needs_approval: int = 0  # valid rows that would wait for an approver
    waiting: list[int] = field(default_factory=list)  # their row numbers (the first ones)


@dataclass(frozen=True, slots=True)
class Progress:
    """A job's counts as its page shows them."""

    status: str
    total: int
    done: int
    failed: int
    skipped: int
    remaining: int
    held: int = 0  # waiting for an approver

    @property
    def finished(self) -> bool:
        return self.status in states.FINISHED

    @classmethod
    def of(cls, job: BulkJob) -> Progress:
        counts = job.counts
        return cls(
            status=job.status,
            total=job.total,
            done=counts.get(states.ROW_DONE, 0),
            failed=counts.get(states.ROW_FAILED, 0),
            skipped=counts.get(states.ROW_SKIPPED, 0),
            remaining=counts.get(states.PENDING, 0),
            held=counts.get(states.ROW_HELD, 0),
        )


def may_see(person: Person) -> bool:
    return person.access.sees_all or person.access.may_invite


def require_view(person: Person) -> None:
    if not may_see(person):
        raise PermissionDenied(
            "Your role does not let you see bulk invitations.", code="CannotSeeBulk"
        )


def require_start(person: Person) -> None:
    if not person.access.may_invite:
        raise PermissionDenied(READ_ONLY, code="ReadOnlyRole")


def _administers(person: Person) -> bool:
    return bool(person.access.roles & {GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR})


def _scope(person: Person) -> str | None:
    """Whose jobs the person sees: everyone's (None), or only their own."""
    return None if person.access.sees_all else person.email


def _own_requesters(person: Person, parsed: BulkFile) -> BulkFile:
    """A Guest inviter invites in its own name: a row naming another requester fails."""
    if _administers(person):
        return parsed
    me = fold(person.email)
    rows: list[ParsedRow] = []
    for row in parsed.rows:
        named = None if row.request is None else row.request.requested_by
        if named is not None and fold(named.address) != me:
            refused = ValidationError(
                f"a Guest inviter invites in its own name; leave requestedBy empty or write"
                f" {person.email}.",
                code="InvalidRequestedBy",
            )
            row = replace(row, request=None, error=row_error(row.number, refused))
        rows.append(row)
    return replace(parsed, rows=tuple(rows))


async def read_file(person: Person, data: bytes) -> BulkFile:
    """Parse and validate an uploaded file (off the event loop: it may be 32 MiB)."""
    require_start(person)
    parsed = await asyncio.to_thread(bulk.check, data)
    return _own_requesters(person, parsed)


def check(parsed: BulkFile, waiting: list[int] | None = None) -> Check:
    """What a check-only pass reports: the rows that would fail, those that would wait for
    an approver (`waiting`, bulk.rows_needing_approval), and the counts."""
    bad = [r for r in parsed.rows if r.error is not None]
    skipped = sum(1 for r in parsed.rows if r.skipped)
    return Check(
        rows=len(parsed.rows),
        valid=len(parsed.rows) - len(bad) - skipped,
        invalid=len(bad),
        skipped=skipped,
        problems=[
            Problem(r.number, r.error.code, r.error.message)
            for r in bad[:MAX_LISTED]
            if r.error is not None
        ],
        warnings=parsed.warnings,
        needs_approval=len(waiting or []),
        waiting=(waiting or [])[:MAX_LISTED],
    )


async def start(
    make_uow: MakeUow,
    *,
    person: Person,
    actor: Actor,
    parsed: BulkFile,
    sealer: Sealer,
    now: datetime,
) -> BulkJob:
    """Store the file's rows as a job in the person's name, as the API does."""
    require_start(person)
    return await bulk.create_job(make_uow, sealer=sealer, actor=actor, parsed=parsed, now=now)


async def list_jobs(make_uow: MakeUow, *, person: Person, limit: int) -> Sequence[BulkJob]:
    """The tenant's newest jobs the person may see."""
    require_view(person)
    return await bulk.list_jobs(
        make_uow, tenant_id=person.tenant_id, started_by=_scope(person), limit=limit
    )


async def get_job(make_uow: MakeUow, *, person: Person, job_id: str) -> BulkJob:
    """A job the person may see; another's is not found, as another tenant's is."""
    require_view(person)
    job = await bulk.get_job(make_uow, tenant_id=person.tenant_id, job_id=job_id)
    scope = _scope(person)
    if scope is not None and fold(job.started_by or "") != fold(scope):
        raise bulk.job_not_found(job_id)
    return job


async def cancel(
    make_uow: MakeUow, *, person: Person, actor: Actor, job_id: str, now: datetime
) -> BulkJob:
    """Stop a job at its next row (audited); rows already invited stay invited."""
    require_start(person)
    await get_job(make_uow, person=person, job_id=job_id)
    return await bulk.cancel_job(
        make_uow, tenant_id=person.tenant_id, job_id=job_id, now=now, actor=actor
    )


async def results(make_uow: MakeUow, *, person: Person, sealer: Sealer, job_id: str) -> str:
    """The job's results file, the API's row for row. It holds the redeem links, so it
    takes the right to invite, as the API's does (User.Invite.All): a Reader has none."""
    if not person.access.may_invite:
        raise PermissionDenied(
            "The results file holds the invitations' redeem links: your role does not let you"
            " download it.",
            code="ReadOnlyRole",
        )
    job = await get_job(make_uow, person=person, job_id=job_id)
    return await bulk.results(make_uow, sealer=sealer, tenant_id=job.tenant_id, job_id=job.id)
