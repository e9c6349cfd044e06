"""The lifecycle scheduler: each pass runs the steps that are due (notify, disable, delete).

Every step has a key (policy, version, guest, step, due day) and a row in lifecycle_steps.
A worker claims a step with a conditional insert (or takes over a claim whose lease ran
out) and goes on only if the row count says it won, so a step runs once across any number
of workers. Notices are written to the outbox in the transaction that marks their steps
done; disable and delete go through the directory's use-cases (idempotent), then the step
is marked done. A crash between claim and done leaves a claim that a later pass takes over
after the lease, and the action's second run changes nothing.

A backlog (after downtime) is worked through `limit` steps per pass, oldest first, and the
notices of one pass go out as one summary per sponsor and one mail per guest.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from guestgate.domain import lifecycle_eval as ev
from guestgate.domain.lifecycle import LifecyclePolicy
from guestgate.domain.lifecycle_eval import GuestFacts, StepKey
from guestgate.domain.messages import LifecycleNotice
from guestgate.domain.signing import KeySet
from guestgate.domain.timestamps import iso
from guestgate.services.lifecycle import effective, needs_sponsors
from guestgate.services.lifecycle_attest import KEEP, REMOVE, link_token
from guestgate.services.lifecycle_ports import (
    GuestFactsSource,
    LifecycleActions,
    LifecycleUnitOfWork,
)
from guestgate.services.outbox import enqueue
from guestgate.services.ports import Sealer

log = logging.getLogger("guestgate.lifecycle")
LEASE = timedelta(minutes=10)
LIMIT = 500  # steps per pass: a backlog is worked through at this pace
# Guests evaluated between two turns of the event loop for requests (about 2 ms of CPU).
YIELD_EVERY = 50


@dataclass(frozen=True, slots=True)
class Due:
    policy: LifecyclePolicy
    guest: GuestFacts
    key: StepKey
    line: ev.Timeline


@dataclass(slots=True)
class PassResult:
    notified: int = 0
    disabled: int = 0
    deleted: int = 0
    mails: int = 0
    skipped: int = 0  # claimed by another worker meanwhile
    left: int = 0  # due but over this pass's limit
    done: list[StepKey] = field(default_factory=list)


def _order(due: Due) -> tuple[str, int, str]:
    return (due.key.due_on, ev.STEPS.index(due.key.step), due.key.user_id)


async def _due(
    make_uow: Callable[..., LifecycleUnitOfWork],
    guests: GuestFactsSource,
    *,
    now: datetime,
    lease: timedelta,
    limit: int = LIMIT,
) -> tuple[list[Due], int]:
    """The `limit` oldest steps due today or earlier not yet done (nor freshly claimed), and
    how many are due in all. Only `limit` are held at a time, whatever the backlog. The
    guests are read outside the transaction that reads the policies and their steps (from
    Graph, in Microsoft 365 mode)."""
    today = now.date()
    out: list[Due] = []
    total = 0
    async with make_uow(write=False) as uow:
        policies = [p for p in await uow.lifecycle.list() if p.enabled]
        settled = {
            p.id: await uow.lifecycle_steps.settled(p.id, p.version, stale=iso(now - lease))
            for p in policies
        }
    for policy in policies:
        when = effective(policy)
        sponsors = needs_sponsors(policy)
        seen = 0
        async for guest in guests.guests(policy.tenant_id, sponsors=sponsors):
            seen += 1
            if not seen % YIELD_EVERY:
                # In `serve` the pass shares its event loop with requests: let them in.
                await asyncio.sleep(0)
            line = ev.timeline(policy, guest, effective=when)
            if line is None:
                continue
            for step, day in line.steps():
                due_on = day.isoformat()
                if day > today or (guest.user_id, step, due_on) in settled[policy.id]:
                    continue
                key = StepKey(policy.id, policy.version, guest.user_id, step, due_on)
                out.append(Due(policy, guest, key, line))
                total += 1
            if len(out) > 4 * limit:
                out = heapq.nsmallest(limit, out, key=_order)
    return sorted(out, key=_order)[:limit], total


async def _claim(
    make_uow: Callable[[], LifecycleUnitOfWork], due: Due, *, now: datetime, lease: timedelta
) -> bool:
    async with make_uow() as uow:
        won = await uow.lifecycle_steps.claim(
            due.key, tenant_id=due.policy.tenant_id, now=iso(now), stale=iso(now - lease)
        )
        await uow.commit()
    return won


async def _finish(uow: LifecycleUnitOfWork, due: Due, now: datetime) -> None:
    await uow.lifecycle_steps.finish(due.key, now=iso(now))
    await uow.audit.record(
        tenant_id=due.policy.tenant_id,
        actor="lifecycle",
        action=f"lifecycle.step.{due.key.step}",
        target=due.key.user_id,
        created_at=iso(now),
        details={
            "policyId": due.policy.id,
            "version": due.policy.version,
            "dueOn": due.key.due_on,
            "rule": due.line.rule,
        },
    )


def _next_action(line: ev.Timeline) -> tuple[str, str]:
    if line.disable_on is not None:
        return ev.DISABLE, line.disable_on.isoformat()
    assert line.delete_on is not None
    return ev.DELETE, line.delete_on.isoformat()


async def _notify(
    make_uow: Callable[[], LifecycleUnitOfWork],
    actions: LifecycleActions,
    notices: Sequence[Due],
    *,
    now: datetime,
    keys: KeySet,
    link_base: str,
    sealer: Sealer,
    result: PassResult,
) -> None:
    """One transaction: each sponsor's summary, each guest's mail, the steps done."""
    by_sponsor: dict[tuple[str, str], list[tuple[str, str, str, str, str]]] = {}
    to_guests: dict[tuple[str, str], tuple[str, str, str, str, str]] = {}
    for due in notices:
        tenant = due.policy.tenant_id
        action, day = _next_action(due.line)
        if day <= now.date().isoformat():
            continue  # a backlog's old notice: the action itself runs in this pass
        label = f"{due.guest.display_name} <{due.guest.mail}>"
        sponsors = await actions.sponsors_of(tenant, due.guest.user_id)
        recipients = [(s.id, s.mail) for s in sponsors if s.mail]
        if not recipients:
            recipients = [(addr, addr) for addr in due.policy.fallback]
        for sponsor_id, mail in recipients:
            links = [
                f"{link_base}/lifecycle/attest?t="
                + link_token(
                    keys,
                    tenant_id=tenant,
                    user_id=due.guest.user_id,
                    sponsor=sponsor_id,
                    choice=choice,
                    now=now,
                )
                for choice in (KEEP, REMOVE)
            ]
            entries = by_sponsor.setdefault((tenant, mail), [])
            if all(e[0] != label for e in entries):
                entries.append((label, action, day, links[0], links[1]))
        if due.guest.mail:
            to_guests[(tenant, due.guest.mail)] = (label, action, day, "", "")
    async with make_uow() as uow:
        orgs: dict[str, str] = {}
        for tenant in {t for t, _ in [*by_sponsor, *to_guests]}:
            found = await uow.tenants.get(tenant, links=False)
            orgs[tenant] = found.name if found is not None else tenant
        mails = [
            LifecycleNotice(to=mail, org=orgs[tenant], entries=tuple(entries))
            for (tenant, mail), entries in by_sponsor.items()
        ] + [
            LifecycleNotice(to=mail, org=orgs[tenant], entries=(entry,), to_guest=True)
            for (tenant, mail), entry in to_guests.items()
        ]
        tenants = [t for t, _ in by_sponsor] + [t for t, _ in to_guests]
        for tenant, notice in zip(tenants, mails, strict=True):
            await enqueue(uow, sealer=sealer, tenant_id=tenant, message=notice, now=now)
            result.mails += 1
        for due in notices:
            await _finish(uow, due, now)
            result.done.append(due.key)
        result.notified += len(notices)
        await uow.commit()


async def run_pass(
    make_uow: Callable[..., LifecycleUnitOfWork],
    actions: LifecycleActions,
    *,
    guests: GuestFactsSource,
    now: datetime,
    keys: KeySet,
    link_base: str,
    sealer: Sealer,
    limit: int = LIMIT,
    lease: timedelta = LEASE,
) -> PassResult:
    """One scheduler pass at `now` (the injected clock)."""
    result = PassResult()
    due, total = await _due(make_uow, guests, now=now, lease=lease, limit=limit)
    result.left = total - len(due)
    notices: list[Due] = []
    for item in due:
        if not await _claim(make_uow, item, now=now, lease=lease):
            result.skipped += 1
            continue
        if item.key.step == ev.NOTIFY:
            notices.append(item)
            continue
        tenant, user = item.policy.tenant_id, item.key.user_id
        if item.key.step == ev.DISABLE:
            await actions.disable(tenant, user)
            result.disabled += 1
        else:
            await actions.delete(tenant, user)
            result.deleted += 1
        async with make_uow() as uow:
            await _finish(uow, item, now)
            await uow.commit()
        result.done.append(item.key)
    if notices:
        await _notify(
            make_uow,
            actions,
            notices,
            now=now,
            keys=keys,
            link_base=link_base,
            sealer=sealer,
            result=result,
        )
    if due:
        log.info(
            "lifecycle pass",
            extra={
                "notified": result.notified,
                "disabled": result.disabled,
                "deleted": result.deleted,
                "mails": result.mails,
                "left": result.left,
            },
        )
    return result
