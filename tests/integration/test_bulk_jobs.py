"""Bulk-invite jobs on SQLite and PostgreSQL: Microsoft's template row for row, 10,000 rows
with 3 bad ones, two workers on one job, cancel, the requesters' one summary, hostile cells."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from guestgate.bootstrap import build_runtime
from guestgate.config import Settings
from guestgate.domain import bulk_csv
from guestgate.domain.messages import REQUESTER_SUMMARY
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso, utcnow
from guestgate.errors import NotFound
from guestgate.runtime import Runtime
from guestgate.services import bulk, tenants
from guestgate.services.bulk import BulkRunner
from guestgate.services.directory import Actor
from guestgate.services.retention import forget_expired

pytestmark = pytest.mark.anyio
HEADINGS = (
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    " Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    " message [customizedMessageBody]"
)
TEMPLATE = (
    "version:v1.0\n"
    + HEADINGS
    + "\n"
    + 'alice@fabrikam.com,https://myapplications.microsoft.com,TRUE,"Welcome to Contoso"\n'
).encode()


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


def runner_of(runtime: Runtime, **overrides: Any) -> BulkRunner:
    assert runtime.worker.bulk is not None
    base = runtime.worker.bulk.runner
    return BulkRunner(base.make_uow, base.invitations, base.sealer, base.now, **overrides)


async def submit(runtime: Runtime, tenant: Tenant, data: bytes) -> str:
    job = await bulk.create_job(
        runtime.uow,
        sealer=runtime.sealer,
        actor=Actor(tenant_id=tenant.id, app_id=None),
        parsed=bulk.check(data),
        now=utcnow(),
    )
    return job.id


async def scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    async with runtime.uow(write=False) as uow:
        row = await uow.bulk_jobs.tx.fetchone(sql, params)  # type: ignore[attr-defined]
    assert row is not None
    return row[0] if not hasattr(row, "values") else next(iter(row.values()))


async def results(runtime: Runtime, tenant: Tenant, job_id: str) -> list[list[str]]:
    text = await bulk.results(
        runtime.uow, sealer=runtime.sealer, tenant_id=tenant.id, job_id=job_id
    )
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_microsofts_template_imports_unchanged_and_results_match_row_for_row(
    runtime: Runtime, tenant: Tenant
) -> None:
    data = TEMPLATE + b"Example: bob@fabrikam.com,https://myapps.microsoft.com,TRUE,Hi\n"
    job_id = await submit(runtime, tenant, data)
    assert await runner_of(runtime).run_once()
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    assert job.status == "done"
    assert job.counts == {"done": 1, "skipped": 1}
    rows = await results(runtime, tenant, job_id)
    source = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == [*source[1], *bulk_csv.RESULT_HEADINGS]
    assert [r[:4] for r in rows[1:]] == [source[2], source[3]]
    invited, example = rows[1], rows[2]
    assert invited[4:6] == ["Success", ""]
    user_id = await scalar(
        runtime,
        "SELECT user_id FROM invitations WHERE tenant_id = :t AND email = :e",
        t=tenant.id,
        e="alice@fabrikam.com",
    )
    assert invited[7] == user_id
    assert "/redeem/" in invited[8]
    assert user_id in invited[8]
    assert example[4:6] == ["Skipped", "ExampleRow"]
    # The redeem link and the input are sealed at rest.
    stored = await scalar(runtime, "SELECT redeem_url FROM bulk_job_rows WHERE status = 'done'")
    assert "redeem" not in stored
    assert "alice" not in await scalar(
        runtime, "SELECT input FROM bulk_job_rows WHERE status = 'done'"
    )


async def test_ten_thousand_rows_with_three_bad_ones_give_9997_guests_and_3_reasons(
    runtime: Runtime, tenant: Tenant
) -> None:
    lines = ["email,inviteRedirectURL,sendEmail"]
    bad = {1234: "not-an-address", 5678: "http://plain.example", 9000: "maybe"}
    for i in range(10_000):
        email, url, send = f"g{i}@fabrikam.example", "https://app.contoso.example", "false"
        if i == 1234:
            email = bad[i]
        elif i == 5678:
            url = bad[i]
        elif i == 9000:
            send = bad[i]
        lines.append(f"{email},{url},{send}")
    job_id = await submit(runtime, tenant, ("\n".join(lines) + "\n").encode())
    assert await runner_of(runtime, batch=500, concurrency=32).run_once()
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    assert job.status == "done"
    assert job.counts == {"done": 9_997, "failed": 3}
    assert (
        await scalar(runtime, "SELECT COUNT(*) FROM invitations WHERE tenant_id = :t", t=tenant.id)
        == 9_997
    )
    rows = await results(runtime, tenant, job_id)
    assert len(rows) == 10_001
    failed = {i: r[4:6] for i, r in enumerate(rows[1:]) if r[3] != "Success"}
    assert sorted(failed) == sorted(bad)
    assert failed[1234] == ["InvalidEmailAddress", failed[1234][1]]
    assert failed[5678][0] == "InvalidRedirectUrl"
    assert failed[9000][0] == "InvalidSendEmail"
    assert all("Row " in rows[i + 1][5] for i in bad)


async def test_two_workers_on_one_job_share_its_rows_and_never_invite_one_twice(
    runtime: Runtime, tenant: Tenant
) -> None:
    data = "email,inviteRedirectURL\n" + "".join(
        f"w{i}@fabrikam.example,https://app.contoso.example\n" for i in range(300)
    )
    job_id = await submit(runtime, tenant, data.encode())
    first, second = runner_of(runtime, batch=20), runner_of(runtime, batch=20)
    one, two = await first.claim(), await second.claim()
    assert one is not None
    assert two is not None
    seen: dict[str, set[int]] = {"first": set(), "second": set()}

    def watch(name: str) -> Any:
        def progress(job: Any) -> None:
            seen[name].add(job.counts.get("done", 0))

        return progress

    await asyncio.gather(
        first.run(one, progress=watch("first")), second.run(two, progress=watch("second"))
    )
    assert seen["first"]
    assert seen["second"]
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    assert job.status == "done"
    assert job.counts == {"done": 300}
    assert (
        await scalar(runtime, "SELECT COUNT(*) FROM invitations WHERE tenant_id = :t", t=tenant.id)
        == 300
    )
    assert (
        await scalar(
            runtime,
            "SELECT COUNT(DISTINCT invitation_id) FROM bulk_job_rows WHERE job_id = :j",
            j=job_id,
        )
        == 300
    )


async def test_rows_a_dead_worker_held_are_taken_once_its_lease_runs_out(
    runtime: Runtime, tenant: Tenant
) -> None:
    data = "email\n" + "".join(f"d{i}@fabrikam.example\n" for i in range(60))
    job_id = await submit(runtime, tenant, data.encode())
    runner = runner_of(runtime, batch=25)
    assert await runner.claim() is not None
    async with runtime.uow() as uow:  # a worker takes a batch, then dies before inviting it
        held = await uow.bulk_jobs.take(
            job_id, limit=25, now=iso(utcnow()), lease_until=iso(utcnow() + timedelta(minutes=5))
        )
        await uow.commit()
    assert held is not None
    assert [r.position for r in held] == list(range(25))
    other = runner_of(runtime, batch=25)
    claimed = await other.claim()
    assert claimed is not None
    await other.run(claimed)  # the free rows only
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    assert (job.status, job.counts) == ("running", {"done": 35, "pending": 25})
    assert await other.claim() is None  # nothing free until the lease runs out
    async with runtime.uow() as uow:
        await uow.bulk_jobs.tx.execute(  # type: ignore[attr-defined]
            "UPDATE bulk_job_rows SET lease_until = '2000-01-01T00:00:00.000000Z'"
            " WHERE status = 'pending'"
        )
        await uow.commit()
    assert await other.run_once()
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    assert (job.status, job.counts) == ("done", {"done": 60})
    assert (
        await scalar(runtime, "SELECT COUNT(*) FROM invitations WHERE tenant_id = :t", t=tenant.id)
        == 60
    )


async def test_cancel_stops_at_the_next_row(runtime: Runtime, tenant: Tenant) -> None:
    data = "email\n" + "".join(f"c{i}@fabrikam.example\n" for i in range(400))
    job_id = await submit(runtime, tenant, data.encode())
    runner = runner_of(runtime, batch=25, concurrency=4)
    claimed = await runner.claim()
    assert claimed is not None
    cancelled: list[int] = []

    def progress(job: Any) -> None:
        if not cancelled:
            cancelled.append(job.counts.get("done", 0))
            asyncio.get_running_loop().create_task(
                bulk.cancel_job(runtime.uow, tenant_id=tenant.id, job_id=job_id, now=utcnow())
            )

    await runner.run(claimed, progress=progress)
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    invited = await scalar(
        runtime, "SELECT COUNT(*) FROM invitations WHERE tenant_id = :t", t=tenant.id
    )
    assert job.status == "cancelled"
    assert invited == job.counts["done"]
    assert 25 <= invited < 400
    rows = await results(runtime, tenant, job_id)
    assert {tuple(r[1:3]) for r in rows[1:] if r[1] != "Success"} == {("Skipped", "JobCancelled")}
    assert not await runner.run_once()  # a cancelled job is not taken again


async def test_a_requester_gets_one_summary_per_job(runtime: Runtime, tenant: Tenant) -> None:
    data = "email,requestedBy\n" + "".join(
        f"s{i}@fabrikam.example,boss@contoso.example\n" for i in range(30)
    )
    await submit(runtime, tenant, data.encode())
    assert await runner_of(runtime, batch=7).run_once()
    assert (
        await scalar(runtime, "SELECT COUNT(*) FROM outbox WHERE kind = :k", k=REQUESTER_SUMMARY)
        == 1
    )
    assert (
        await scalar(
            runtime, "SELECT COUNT(*) FROM outbox WHERE recipient = 'boss@contoso.example'"
        )
        == 1
    )


async def test_hostile_cells_come_back_spreadsheet_safe(runtime: Runtime, tenant: Tenant) -> None:
    data = (
        "email,inviteeName,note\n"
        'h1@fabrikam.example,"=cmd|\' /C calc\'!A0","+SUM(A1)"\n'
        '=HYPERLINK("https://evil.example"),@x,-1\n'
    )
    job_id = await submit(runtime, tenant, data.encode())
    assert await runner_of(runtime).run_once()
    rows = await results(runtime, tenant, job_id)
    assert rows[1][:4] == ["h1@fabrikam.example", "'=cmd|' /C calc'!A0", "'+SUM(A1)", "Success"]
    assert rows[2][:4] == ['\'=HYPERLINK("https://evil.example")', "'@x", "'-1", "Failure"]
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


async def test_another_tenants_job_is_not_found(runtime: Runtime, tenant: Tenant) -> None:
    other = await tenants.create_tenant(
        runtime.uow(), name="Other", domains=["other.example"], now=utcnow()
    )
    job_id = await submit(runtime, tenant, b"email\nz@fabrikam.example\n")
    for call in (
        bulk.get_job(runtime.uow, tenant_id=other.id, job_id=job_id),
        bulk.cancel_job(runtime.uow, tenant_id=other.id, job_id=job_id, now=utcnow()),
        bulk.results(runtime.uow, sealer=runtime.sealer, tenant_id=other.id, job_id=job_id),
    ):
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.code == "BulkJobNotFound"


async def test_retention_forgets_finished_jobs_and_keeps_the_others(
    runtime: Runtime, tenant: Tenant
) -> None:
    old = await submit(runtime, tenant, b"email\nold@fabrikam.example\n")
    assert await runner_of(runtime).run_once()
    running = await submit(runtime, tenant, b"email\nlater@fabrikam.example\n")
    assert (await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=old)).status == "done"
    forgotten = await forget_expired(
        runtime.uow, now=utcnow() + timedelta(days=31), retention_days=30
    )
    assert forgotten.bulk_jobs == 1
    with pytest.raises(NotFound):
        await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=old)
    assert await scalar(runtime, "SELECT COUNT(*) FROM bulk_job_rows WHERE job_id = :j", j=old) == 0
    assert (await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=running)).total == 1
