"""The worker's lifecycle look (bootstrap's pass callable), on SQLite and PostgreSQL: it
evaluates the guests once a day, again when a policy changes, and not at every look."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bench.cases.lifecycle import POLICY
from guestgate.bootstrap import build_runtime
from guestgate.config import Settings
from guestgate.runtime import Runtime
from guestgate.services import keys, lifecycle, tenants
from guestgate.services.lifecycle_scheduler import PassResult

pytestmark = pytest.mark.anyio
DAY = datetime(2026, 12, 4, 9, tzinfo=UTC)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings, pool_size=4)
    yield rt
    await rt.close()


async def test_a_look_passes_once_a_day_and_after_a_policy_change(runtime: Runtime) -> None:
    clock = [DAY]
    object.__setattr__(runtime, "now", lambda: clock[0])
    assert runtime.worker.webhooks is not None
    look = runtime.worker.webhooks.lifecycle
    assert look is not None
    tenant = await tenants.create_tenant(
        runtime.uow(), name="Contoso", domains=["contoso.example"], now=DAY
    )
    await keys.ensure_signing_key(runtime.uow(), sealer=runtime.sealer, now=DAY)
    assert isinstance(await look(), PassResult)  # the first look of the process
    clock[0] = DAY + timedelta(minutes=5)
    assert await look() is None  # the same day, nothing changed
    await lifecycle.create_policy(
        runtime.uow(),
        guests=runtime.guest_facts,
        tenant_id=tenant.id,
        raw=POLICY,
        now=clock[0],
        who=lifecycle.Who(user="test"),
        confirm=True,
    )
    assert isinstance(await look(), PassResult)  # a new policy: its steps may be due now
    assert await look() is None
    clock[0] = DAY + timedelta(days=1)
    assert isinstance(await look(), PassResult)  # a new day
    assert await look() is None


def test_serve_runs_the_passes_in_its_first_process_only(settings: Settings) -> None:
    from dataclasses import replace

    from guestgate.web.supervisor import Supervisor

    with socket.socket() as probe:  # a free port (each worker binds it with SO_REUSEPORT)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    local = replace(settings, http=replace(settings.http, host="127.0.0.1", port=port))
    supervisor = Supervisor(local, workers=3, tls=None)
    try:
        chosen = [supervisor.settings_for(slot).lifecycle_scheduler for slot in range(3)]
        assert chosen == [True, False, False]
        off = Supervisor(replace(local, lifecycle_scheduler=False), workers=2, tls=None)
        assert not any(off.settings_for(slot).lifecycle_scheduler for slot in range(2))
        for sock in off.sockets:
            sock.close()
    finally:
        for sock in supervisor.sockets:
            sock.close()


async def test_a_process_without_the_scheduler_has_no_pass(settings: Settings) -> None:
    from dataclasses import replace

    rt = build_runtime(replace(settings, lifecycle_scheduler=False), pool_size=2)
    try:
        assert rt.worker.webhooks is not None
        assert rt.worker.webhooks.lifecycle is None
    finally:
        await rt.close()
