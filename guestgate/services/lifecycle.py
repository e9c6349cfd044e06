"""Guest lifecycle policies: create, change (a new version each time), delete, read, and the
dry run of what one would do.

A change that would disable or delete guests at its first run (a shorter deadline, a policy
switched on over guests already past it) is refused with `ConfirmationRequired`, which
carries the dry run of those steps, unless the caller confirms it (`confirm=True`: the API's
`?confirm=true`, the CLI's `--confirm`, the console's Confirm button after its dry run).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from guestgate.domain import lifecycle_eval as ev
from guestgate.domain.lifecycle import (
    MAX_POLICIES,
    POLICIES_LIMIT,
    SPONSORS,
    LifecyclePolicy,
    parse_policy,
    patch_policy,
    with_rule_ids,
)
from guestgate.domain.lifecycle_eval import GuestFacts
from guestgate.domain.timestamps import iso, parse_iso
from guestgate.errors import Conflict, NotFound, ValidationError
from guestgate.services.lifecycle_ports import GuestFactsSource, LifecycleUnitOfWork


@dataclass(frozen=True, slots=True)
class Who:
    """Who changes a policy, for the audit trail."""

    app_id: str | None = None
    user: str | None = None
    request_id: str | None = None


class ConfirmationRequired(Conflict):
    """The change would act on guests at once: `steps` says on whom; confirm to apply it."""

    code = "lifecyclePolicyConfirmationRequired"

    def __init__(self, steps: Sequence[ev.DueStep], guests: dict[str, GuestFacts]) -> None:
        super().__init__(
            f"This change would act at once on {len({s.user_id for s in steps})} guest(s):"
            " run the dry run, then repeat the request with confirm=true to apply it."
        )
        self.steps = list(steps)
        self.guests = guests


def policy_not_found(policy_id: str) -> NotFound:
    return NotFound(
        f"There is no lifecycle policy {policy_id[:64]} in this organization.",
        code="Request_ResourceNotFound",
    )


def effective(policy: LifecyclePolicy) -> datetime:
    """When the policy's current version took effect."""
    return parse_iso(policy.modified_at or policy.created_at)


def needs_sponsors(policy: LifecyclePolicy) -> bool:
    """Whether a rule of the policy counts sponsors (only then are they read from Graph)."""
    return any(r.enabled and r.kind == SPONSORS for r in policy.rules)


async def read_guests(source: GuestFactsSource, policy: LifecyclePolicy) -> list[GuestFacts]:
    return [g async for g in source.guests(policy.tenant_id, sponsors=needs_sponsors(policy))]


def _first_run(
    new: LifecyclePolicy,
    old: LifecyclePolicy | None,
    listed: Sequence[GuestFacts],
    *,
    now: datetime,
) -> None:
    """Raise ConfirmationRequired if `new` would disable or delete anyone of `listed` at its
    first run that `old` (as it stands) was not already due to."""
    if not new.enabled:
        return
    today = now.date()
    guests = {guest.user_id: guest for guest in listed}
    done: set[tuple[str, str]] = {(g.user_id, ev.DISABLE) for g in guests.values() if not g.enabled}
    if old is not None and old.enabled:
        for step in ev.due_steps(old, guests.values(), effective=effective(old), today=today):
            done.add((step.user_id, step.step))
    steps = ev.acts_at_once(new, list(guests.values()), effective=now, today=today, done=done)
    if steps:
        raise ConfirmationRequired(steps, {s.user_id: guests[s.user_id] for s in steps})


async def _audit(
    uow: LifecycleUnitOfWork,
    policy: LifecyclePolicy,
    action: str,
    who: Who,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    await uow.audit.record(
        tenant_id=policy.tenant_id,
        app_id=who.app_id,
        actor=who.user,
        action=action,
        target=policy.id,
        request_id=who.request_id,
        created_at=iso(now),
        details={"version": policy.version, "displayName": policy.display_name} | (details or {}),
    )


async def create_policy(
    uow: LifecycleUnitOfWork,
    *,
    guests: GuestFactsSource,
    tenant_id: str,
    raw: Any,
    now: datetime,
    who: Who,
    confirm: bool = False,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> LifecyclePolicy:
    """Validate and store a new policy (version 1), audited."""
    parsed = parse_policy(raw, tenant_id=tenant_id)
    stamp = iso(now)
    policy = with_rule_ids(replace(parsed, id=new_id(), created_at=stamp, modified_at=stamp))
    # The guests are read before the write transaction opens (from Graph, in Microsoft 365
    # mode): no transaction waits on the network.
    listed = [] if confirm or not policy.enabled else await read_guests(guests, policy)
    async with uow:
        if await uow.lifecycle.count(tenant_id) >= MAX_POLICIES:
            raise ValidationError(
                f"A tenant has at most {MAX_POLICIES} guest lifecycle policies.",
                code=POLICIES_LIMIT,
            )
        if not confirm:
            _first_run(policy, None, listed, now=now)
        await uow.lifecycle.add(policy)
        await _audit(uow, policy, "lifecycle.policy.create", who, now)
        await uow.commit()
    return policy


async def update_policy(
    uow: LifecycleUnitOfWork,
    *,
    guests: GuestFactsSource,
    tenant_id: str,
    policy_id: str,
    raw: Any,
    now: datetime,
    who: Who,
    confirm: bool = False,
) -> LifecyclePolicy:
    """Apply a PATCH: a new version (versionNumber + 1), the old one kept, audited."""
    listed: list[GuestFacts] = []
    if not confirm:  # read before the write transaction, as in create_policy
        async with uow:
            before = await uow.lifecycle.get(tenant_id, policy_id)
        if before is not None:
            changed = patch_policy(before, raw)
            if changed.enabled:
                listed = await read_guests(guests, changed)
    async with uow:
        current = await uow.lifecycle.get(tenant_id, policy_id)
        if current is None:
            raise policy_not_found(policy_id)
        changed = patch_policy(current, raw)
        policy = with_rule_ids(replace(changed, version=current.version + 1, modified_at=iso(now)))
        if not confirm:
            _first_run(policy, current, listed, now=now)
        if not await uow.lifecycle.update(policy, expected_version=current.version):
            raise Conflict("The policy changed meanwhile; read it again.", code="Conflict")
        await _audit(uow, policy, "lifecycle.policy.update", who, now, {"confirmed": confirm})
        await uow.commit()
    return policy


async def delete_policy(
    uow: LifecycleUnitOfWork, *, tenant_id: str, policy_id: str, now: datetime, who: Who
) -> None:
    async with uow:
        current = await uow.lifecycle.get(tenant_id, policy_id)
        if current is None or not await uow.lifecycle.delete(tenant_id, policy_id, now=iso(now)):
            raise policy_not_found(policy_id)
        await _audit(uow, current, "lifecycle.policy.delete", who, now)
        await uow.commit()


async def get_policy(uow: LifecycleUnitOfWork, tenant_id: str, policy_id: str) -> LifecyclePolicy:
    async with uow:
        policy = await uow.lifecycle.get(tenant_id, policy_id)
    if policy is None:
        raise policy_not_found(policy_id)
    return policy


async def list_policies(uow: LifecycleUnitOfWork, tenant_id: str) -> Sequence[LifecyclePolicy]:
    async with uow:
        return await uow.lifecycle.list(tenant_id)


async def list_versions(
    uow: LifecycleUnitOfWork, tenant_id: str, policy_id: str
) -> Sequence[LifecyclePolicy]:
    async with uow:
        versions = await uow.lifecycle.versions(tenant_id, policy_id)
    if not versions:
        raise policy_not_found(policy_id)
    return versions


@dataclass(frozen=True, slots=True)
class Impact:
    start: date
    end: date
    items: list[tuple[GuestFacts, list[tuple[str, date]]]]


def impact_window(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[date, date]:
    """Graph's window rules: without dates the last 7 days; at most 30 days; start <= end."""
    if start is None and end is None:
        end = now
    if end is None:
        assert start is not None
        end = start + ev.DEFAULT_IMPACT_WINDOW
    if start is None:
        start = end - ev.DEFAULT_IMPACT_WINDOW
    if end < start:
        raise ValidationError(
            "endDateTime: must not be before startDateTime.", code="invalidImpactWindow"
        )
    if end - start > ev.MAX_IMPACT_WINDOW:
        raise ValidationError(
            "endDateTime: the window may span at most 30 days.", code="invalidImpactWindow"
        )
    return start.date(), end.date()


async def evaluate(
    source: GuestFactsSource,
    policy: LifecyclePolicy,
    *,
    start: date,
    end: date,
    effective_at: datetime | None = None,
) -> Impact:
    """The dry run of `policy` (saved or a draft) over the tenant's guests as they are now."""
    when = effective_at or effective(policy)
    guests = await read_guests(source, policy)
    return Impact(start, end, ev.impact(policy, guests, effective=when, start=start, end=end))


async def evaluate_saved(
    uow: LifecycleUnitOfWork,
    source: GuestFactsSource,
    *,
    tenant_id: str,
    policy_id: str,
    start: date,
    end: date,
) -> Impact:
    policy = await get_policy(uow, tenant_id, policy_id)
    return await evaluate(source, policy, start=start, end=end)


def draft_policy(raw: Any, *, tenant_id: str, now: datetime) -> LifecyclePolicy:
    """A policy that is not stored, for a dry run: in force from `now` if it were saved."""
    stamp = iso(now)
    parsed = parse_policy(raw, tenant_id=tenant_id)
    return with_rule_ids(replace(parsed, id="draft", created_at=stamp, modified_at=stamp))


async def timelines(
    source: GuestFactsSource, policy: LifecyclePolicy, *, effective_at: datetime | None = None
) -> list[tuple[GuestFacts, ev.Timeline]]:
    """Each non-compliant guest's course under `policy` (saved or a draft), as they are now."""
    when = effective_at or effective(policy)
    out: list[tuple[GuestFacts, ev.Timeline]] = []
    async for guest in source.guests(policy.tenant_id, sponsors=needs_sponsors(policy)):
        line = ev.timeline(policy, guest, effective=when)
        if line is not None:
            out.append((guest, line))
    return out
