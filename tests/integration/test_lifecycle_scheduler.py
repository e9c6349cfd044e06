"""Lifecycle policies on SQLite and PostgreSQL: the dry run for a window is what the scheduler
then does day by day, each step once across two workers, a crash's claim taken over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from guestgate.bootstrap import running
from guestgate.config import Settings
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.lifecycle_eval import IMPACT_ACTION, StepKey
from guestgate.domain.messages import LIFECYCLE_NOTICE
from guestgate.domain.timestamps import iso, utcnow
from guestgate.errors import ValidationError
from guestgate.runtime import Runtime
from guestgate.services import keys, lifecycle, tenants, users
from guestgate.services.directory import Actor
from guestgate.services.lifecycle_actions import DirectoryLifecycleActions
from guestgate.services.lifecycle_attest import KEEP, attest, link_token, read_link
from guestgate.services.lifecycle_scheduler import run_pass

pytestmark = pytest.mark.anyio
NS = "#microsoft.graph.identityGovernance."


def policy_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "Redeem in 3 days",
        "isEnabled": True,
        "gracePeriodInDays": 2,
        "enforcementAction": {
            "@odata.type": f"{NS}disableThenDeleteEnforcementAction",
            "deletionGracePeriodInDays": 2,
        },
        "rules": [
            {
                "@odata.type": f"{NS}invitationRedemptionRule",
                "isEnabled": True,
                "invitationRedemptionThresholdInDays": 3,
            }
        ],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [0, 1]},
    }
    return body | overrides


@dataclass
class World:
    runtime: Runtime
    tenant_id: str
    sponsor_mail: str
    guests: list[str]
    actions: DirectoryLifecycleActions


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with running(settings, pool_size=4) as runtime:
        await keys.ensure_signing_key(runtime.uow(), sealer=runtime.sealer, now=utcnow())
        tenant = await tenants.create_tenant(
            runtime.uow(), name="Contoso", domains=["contoso.example"], now=utcnow()
        )
        sponsor = await users.create_member(
            runtime.uow(),
            tenant_id=tenant.id,
            email="sam@contoso.example",
            display_name="Sam",
            now=utcnow(),
        )
        actor = Actor(tenant_id=tenant.id, app_id=None)
        guests = []
        for i in range(3):
            view = await runtime.invitations.invite(
                actor, build_invite_request(email=f"g{i}@fabrikam.example")
            )
            await runtime.user_admin.add_sponsor(actor, view.user_id, sponsor.id)
            guests.append(view.user_id)
        actions = DirectoryLifecycleActions(
            users=runtime.user_admin, invitations=runtime.invitations
        )
        yield World(runtime, tenant.id, sponsor.mail, guests, actions)


async def one_pass(w: World, now: datetime) -> None:
    await run_pass(
        w.runtime.uow,
        w.actions,
        guests=w.runtime.guest_facts,
        now=now,
        keys=await w.runtime.keyring.current(),
        link_base="https://gg.test",
        sealer=w.runtime.sealer,
    )


async def steps_of(w: World) -> list[StepKey]:
    async with w.runtime.uow(write=False) as uow:
        rows = await uow.lifecycle_steps.list(w.tenant_id)
    assert all(r.status == "done" for r in rows)
    return [r.key for r in rows]


async def lifecycle_mails(w: World) -> list[str]:
    async with w.runtime.uow(write=False) as uow:
        rows = await uow.outbox.list(status=None, limit=500)
    return sorted(m.recipient for m in rows if m.kind == LIFECYCLE_NOTICE)


async def test_the_dry_run_is_what_the_scheduler_then_does(world: World) -> None:
    w = world
    start = utcnow()
    policy = await lifecycle.create_policy(
        w.runtime.uow(),
        guests=w.runtime.guest_facts,
        tenant_id=w.tenant_id,
        raw=policy_body(),
        now=start,
        who=lifecycle.Who(),
    )
    window = await lifecycle.evaluate(
        w.runtime.guest_facts,
        policy,
        start=start.date(),
        end=(start + timedelta(days=10)).date(),
    )
    predicted = sorted(
        (guest.user_id, step, day.isoformat())
        for guest, steps in window.items
        for step, day in steps
    )
    assert {p[0] for p in predicted} == set(w.guests)
    assert sorted({p[1] for p in predicted}) == ["delete", "disable", "notify"]
    for day in range(11):
        await one_pass(w, start + timedelta(days=day, hours=1))
    done = sorted((k.user_id, k.step, k.due_on) for k in await steps_of(w))
    assert done == predicted
    # Two notice days: one summary to the sponsor and one mail to each guest, each day.
    mails = await lifecycle_mails(w)
    assert mails.count(w.sponsor_mail) == 2
    assert len(mails) == 2 + 2 * 3
    async with w.runtime.uow(write=False) as uow:
        assert await uow.lifecycle.guests(w.tenant_id) == []  # all deleted (soft)
        audit = [a.action for a in await uow.audit.list(w.tenant_id, limit=200)]
    assert audit.count("lifecycle.step.disable") == 3
    assert audit.count("lifecycle.step.delete") == 3
    assert set(IMPACT_ACTION) == {"notify", "disable", "delete"}


async def test_two_workers_run_each_step_once(world: World) -> None:
    w = world
    start = utcnow()
    await lifecycle.create_policy(
        w.runtime.uow(),
        guests=w.runtime.guest_facts,
        tenant_id=w.tenant_id,
        raw=policy_body(),
        now=start,
        who=lifecycle.Who(),
    )
    # Downtime: the workers first run 10 days later, both at once, twice.
    later = start + timedelta(days=10)
    for _ in range(2):
        await asyncio.gather(one_pass(w, later), one_pass(w, later))
    done = await steps_of(w)
    assert len(done) == len(set(done)) == 3 * 4  # 2 notices, disable, delete per guest
    # The backlog's notices were past their action: no mail storm, no mail at all.
    assert await lifecycle_mails(w) == []
    async with w.runtime.uow(write=False) as uow:
        audit = [a.action for a in await uow.audit.list(w.tenant_id, limit=200)]
    assert audit.count("lifecycle.step.delete") == 3
    assert audit.count("lifecycle.step.notify") == 6


async def test_a_crashed_claim_is_taken_over_after_its_lease(world: World) -> None:
    w = world
    start = utcnow()
    policy = await lifecycle.create_policy(
        w.runtime.uow(),
        guests=w.runtime.guest_facts,
        tenant_id=w.tenant_id,
        raw=policy_body(),
        now=start,
        who=lifecycle.Who(),
    )
    day = start + timedelta(days=5, hours=1)
    due_on = (start + timedelta(days=5)).date().isoformat()
    key = StepKey(policy.id, 1, w.guests[0], "disable", due_on)
    async with w.runtime.uow() as uow:  # a worker claimed it, then died
        assert await uow.lifecycle_steps.claim(
            key, tenant_id=w.tenant_id, now=iso(day), stale=iso(day)
        )
        await uow.commit()
    await one_pass(w, day)
    async with w.runtime.uow(write=False) as uow:
        rows = {r.key: r for r in await uow.lifecycle_steps.list(w.tenant_id)}
    assert rows[key].status == "claimed"  # its lease has not run out
    await one_pass(w, day + timedelta(minutes=11))
    async with w.runtime.uow(write=False) as uow:
        rows = {r.key: r for r in await uow.lifecycle_steps.list(w.tenant_id)}
        guest = await uow.lifecycle.guest(w.tenant_id, w.guests[0])
    assert rows[key].status == "done"
    assert guest is not None
    assert not guest.enabled


async def test_a_keep_resets_the_clock_and_a_link_works_once(world: World) -> None:
    w = world
    start = utcnow()
    policy = await lifecycle.create_policy(
        w.runtime.uow(),
        guests=w.runtime.guest_facts,
        tenant_id=w.tenant_id,
        raw=policy_body(),
        now=start,
        who=lifecycle.Who(),
    )
    keyset = await w.runtime.keyring.current()
    later = start + timedelta(days=2)
    token = link_token(
        keyset, tenant_id=w.tenant_id, user_id=w.guests[0], sponsor="s", choice=KEEP, now=later
    )
    claims = read_link(keyset, token, now=later)
    for attempt in range(2):
        call = attest(
            w.runtime.uow(),
            w.actions,
            guests=w.runtime.guest_facts,
            tenant_id=w.tenant_id,
            user_id=claims.user_id,
            choice=claims.choice,
            by=claims.sponsor,
            now=later,
            jti=claims.jti,
        )
        if attempt == 0:
            await call
        else:
            with pytest.raises(ValidationError) as refused:
                await call
            assert refused.value.code == "attestationLinkUsed"
    window = await lifecycle.evaluate(
        w.runtime.guest_facts,
        policy,
        start=start.date(),
        end=(start + timedelta(days=9)).date(),
    )
    by_guest = {g.user_id: steps for g, steps in window.items}
    kept = dict((s, d) for s, d in by_guest[w.guests[0]])
    other = dict((s, d) for s, d in by_guest[w.guests[1]])
    assert kept["disable"] - other["disable"] == timedelta(days=2)
    with pytest.raises(ValidationError):
        read_link(keyset, token + "x", now=later)
    with pytest.raises(ValidationError):
        read_link(keyset, token, now=later + timedelta(days=31))


async def test_a_backlog_goes_at_the_limits_pace_oldest_first(world: World) -> None:
    w = world
    start = utcnow()
    await lifecycle.create_policy(
        w.runtime.uow(),
        guests=w.runtime.guest_facts,
        tenant_id=w.tenant_id,
        raw=policy_body(),
        now=start,
        who=lifecycle.Who(),
    )
    later = start + timedelta(days=10)
    keyset = await w.runtime.keyring.current()
    lefts = []
    for _ in range(3):
        result = await run_pass(
            w.runtime.uow,
            w.actions,
            guests=w.runtime.guest_facts,
            now=later,
            keys=keyset,
            link_base="https://gg.test",
            sealer=w.runtime.sealer,
            limit=5,
        )
        lefts.append(result.left)
        assert len(result.done) <= 5
    assert lefts == [7, 2, 0]
    done = await steps_of(w)
    assert len(done) == 12
    first_days = sorted(k.due_on for k in done)[:3]
    assert first_days == [(start + timedelta(days=3)).date().isoformat()] * 3
