"""Bulk jobs as the console lists them, on SQLite and PostgreSQL: newest first, with counts,
narrowed to the person who started them; the start and a cancel are audited with that person,
and a console job's rows with no requester are requested by them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from guestgate.bootstrap import build_runtime
from guestgate.config import Settings
from guestgate.domain import bulk_jobs as states
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import utcnow
from guestgate.runtime import Runtime
from guestgate.services import bulk, tenants
from guestgate.services.directory import Actor

pytestmark = pytest.mark.anyio
FILE = b"inviteeEmail,requestedBy\nann@fabrikam.example,\nbob@fabrikam.example,x@contoso.example\n"


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings, pool_size=4)
    yield rt
    await rt.close()


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await tenants.create_tenant(
        runtime.uow(), name="Contoso", domains=["contoso.example"], now=utcnow()
    )


async def start(runtime: Runtime, tenant: Tenant, user: str | None, minutes: int) -> str:
    job = await bulk.create_job(
        runtime.uow,
        sealer=runtime.sealer,
        actor=Actor(tenant_id=tenant.id, app_id=None, request_id="req-1", user=user),
        parsed=bulk.check(FILE),
        now=utcnow() + timedelta(minutes=minutes),
    )
    return job.id


async def test_jobs_are_listed_newest_first_with_counts_and_by_who_started_them(
    runtime: Runtime, tenant: Tenant
) -> None:
    first = await start(runtime, tenant, "ines@contoso.example", 0)
    second = await start(runtime, tenant, None, 1)
    third = await start(runtime, tenant, "Ines@Contoso.example", 2)
    other = await tenants.create_tenant(
        runtime.uow(), name="Other", domains=["other.example"], now=utcnow()
    )
    await start(runtime, other, "ines@contoso.example", 3)

    listed = await bulk.list_jobs(runtime.uow, tenant_id=tenant.id)
    assert [j.id for j in listed] == [third, second, first]
    assert listed[0].counts == {states.PENDING: 2}
    assert [j.started_by for j in listed] == ["Ines@Contoso.example", None, "ines@contoso.example"]
    mine = await bulk.list_jobs(runtime.uow, tenant_id=tenant.id, started_by="INES@contoso.example")
    assert [j.id for j in mine] == [third, first]
    assert [j.id for j in await bulk.list_jobs(runtime.uow, tenant_id=tenant.id, limit=1)] == [
        third
    ]


async def test_start_and_cancel_are_audited_with_the_person(
    runtime: Runtime, tenant: Tenant
) -> None:
    job_id = await start(runtime, tenant, "ines@contoso.example", 0)
    actor = Actor(tenant_id=tenant.id, app_id=None, request_id="req-2", user="ines@contoso.example")
    await bulk.cancel_job(
        runtime.uow, tenant_id=tenant.id, job_id=job_id, now=utcnow(), actor=actor
    )
    await bulk.cancel_job(
        runtime.uow, tenant_id=tenant.id, job_id=job_id, now=utcnow(), actor=actor
    )
    async with runtime.uow(write=False) as uow:
        records = [a for a in await uow.audit.list(tenant.id, limit=50) if a.target == job_id]
    assert sorted((a.action, a.actor) for a in records) == [
        ("bulk.cancel", "ines@contoso.example"),  # once: the second cancel changed nothing
        ("bulk.create", "ines@contoso.example"),
    ]


async def test_a_console_jobs_rows_default_to_the_person_as_requester(
    runtime: Runtime, tenant: Tenant
) -> None:
    job_id = await start(runtime, tenant, "ines@contoso.example", 0)
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    parsed = bulk.check(FILE)
    requesters = [
        bulk.request_of(job, parsed.columns, row.cells).requested_by for row in parsed.rows
    ]
    assert [r.address if r else None for r in requesters] == [
        "ines@contoso.example",
        "x@contoso.example",
    ]
