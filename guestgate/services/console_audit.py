"""What the console's Audit log page shows: the tenant's audit trail, filtered and paged.

Administrators and readers see the whole trail, as they see every guest; the other roles
see none of it (a Sponsor or Guest inviter sees only its own guests). The filters combine;
the page walks the trail newest first by id, the export reads the same rows in batches.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from guestgate.domain.audit import AuditRecord
from guestgate.domain.roles import ConsolePerson as Person
from guestgate.domain.timestamps import iso
from guestgate.domain.users import unstorable
from guestgate.errors import PermissionDenied, ValidationError
from guestgate.services.ports import UnitOfWork

PAGE_SIZE = 50
EXPORT_BATCH = 1000
EXPORT_MAX = 100_000  # rows in one CSV export, newest first
NOT_YOURS = "Your role does not let you see the audit log; administrators and readers see it."
_ACTION = re.compile(r"[a-z0-9_.]{1,64}(\*)?", re.IGNORECASE)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """The page's conditions, every one optional; `end` is exclusive."""

    actor: str | None = None
    action: str | None = None
    action_prefix: bool = False
    target: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.actor or self.action or self.target or self.start or self.end)


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: Sequence[AuditRecord]
    next_before: int | None  # the id the next page starts below, if there are more


def require_view(person: Person) -> None:
    if not person.access.sees_all:
        raise PermissionDenied(NOT_YOURS, code="NotAnAdministrator")


def _text(name: str, value: str, limit: int, problems: list[str]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > limit or unstorable(value) or any(ord(c) < 32 for c in value):
        problems.append(f"The {name} must be at most {limit} printable characters.")
        return None
    return value


def _moment(name: str, value: str, problems: list[str], *, end: bool) -> datetime | None:
    """A date (the whole day, for `to`) or a date and time, in UTC unless it names a zone."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) > 40:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        problems.append(
            f"The {name} time {value[:40]!r} is not a date such as 2026-12-01"
            " or a date and time such as 2026-12-01T09:30 (UTC)."
        )
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if end and _DAY.fullmatch(value):
        moment += timedelta(days=1)  # "to 2026-12-01" includes that day
    return moment.astimezone(UTC)


def check_filter(*, actor: str, action: str, target: str, start: str, end: str) -> AuditFilter:
    """The page's query as conditions, or one ValidationError naming every bad field."""
    problems: list[str] = []
    found_action = _text("action", action, 65, problems)
    prefix = False
    if found_action is not None:
        match = _ACTION.fullmatch(found_action)
        if match is None:
            problems.append(
                f"The action {found_action[:65]!r} is not an action name such as"
                " invitation.create, or the start of one followed by * (invitation.*)."
            )
            found_action = None
        else:
            prefix = match.group(1) is not None
            found_action = found_action.rstrip("*").lower()
    where = AuditFilter(
        actor=_text("actor", actor, 320, problems),
        action=found_action,
        action_prefix=prefix,
        target=_text("target", target, 400, problems),
        start=_moment("from", start, problems, end=False),
        end=_moment("to", end, problems, end=True),
    )
    if where.start and where.end and where.start >= where.end:
        problems.append("The from time must be before the to time.")
    if problems:
        raise ValidationError(" ".join(problems), code="InvalidAuditFilter")
    return where


def check_before(text: str) -> int | None:
    """The page link's position: an audit id, or None for the first page."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ValidationError(
            "The page link is not valid; start from the first page.", code="InvalidAuditFilter"
        )
    return int(text)


async def _search(
    uow: UnitOfWork, tenant_id: str, where: AuditFilter, before: int | None, limit: int
) -> Sequence[AuditRecord]:
    return await uow.audit.search(
        tenant_id,
        actor=where.actor,
        action=where.action,
        action_prefix=where.action_prefix,
        target=where.target,
        start=None if where.start is None else iso(where.start),
        end=None if where.end is None else iso(where.end),
        before=before,
        limit=limit,
    )


async def page(
    uow: UnitOfWork,
    *,
    person: Person,
    where: AuditFilter,
    before: int | None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """One page of the person's tenant's audit trail, newest first."""
    require_view(person)
    async with uow:
        rows = await _search(uow, person.tenant_id, where, before, limit + 1)
    more = len(rows) > limit
    return AuditPage(rows[:limit], rows[limit - 1].id if more else None)


async def export(
    uow: Callable[[], UnitOfWork], *, person: Person, where: AuditFilter
) -> AsyncIterator[Sequence[AuditRecord]]:
    """Every row the filter matches, newest first, at most EXPORT_MAX, in batches, each
    read in its own short transaction."""
    require_view(person)
    before: int | None = None
    left = EXPORT_MAX
    while left > 0:
        async with uow() as work:
            rows = await _search(work, person.tenant_id, where, before, min(EXPORT_BATCH, left))
        if not rows:
            return
        yield rows
        left -= len(rows)
        before = rows[-1].id
