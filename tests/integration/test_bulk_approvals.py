"""Bulk-job rows the invitation policy holds for an approver, on SQLite and PostgreSQL: held,
not failed; the results row names the approval request and its status URL; the job counts
held rows apart; the request and the row's mark commit together; the requester's summary
lists them; the check-only pass names the rows that would wait; approval invites the guest."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from guestgate.bootstrap import build_runtime
from guestgate.config import Settings
from guestgate.domain import bulk_csv
from guestgate.domain import invitation_policy as rules
from guestgate.domain.messages import REQUESTER_SUMMARY, RequesterSummary, decode_payload
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import iso, utcnow
from guestgate.runtime import Runtime
from guestgate.services import bulk, bulk_held, tenants
from guestgate.services import invitation_policies as policies
from guestgate.services.directory import Actor

pytestmark = pytest.mark.anyio
FILE = (
    b"email,inviteRedirectURL,sendEmail,requestedBy\n"
    b"kim@fabrikam.example,https://contoso.example,TRUE,boss@contoso.example\n"
    b"lee@elsewhere.example,https://contoso.example,TRUE,boss@contoso.example\n"
    b"not-an-address,https://contoso.example,TRUE,boss@contoso.example\n"
    b"max@sub.partner.example,https://contoso.example,FALSE,boss@contoso.example\n"
)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings, pool_size=4)
    yield rt
    await rt.close()


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    created = await tenants.create_tenant(
        runtime.uow(), name="Contoso", domains=["contoso.example"], now=utcnow()
    )
    await policies.set_policy(
        runtime.uow(),
        tenant_id=created.id,
        now=utcnow(),
        approval=rules.parse_approval({"requiredFor": ["fabrikam.example", "*.partner.example"]}),
    )
    return created


async def submit(runtime: Runtime, tenant: Tenant, data: bytes = FILE) -> str:
    job = await bulk.create_job(
        runtime.uow,
        sealer=runtime.sealer,
        actor=Actor(tenant_id=tenant.id, app_id=None),
        parsed=bulk.check(data),
        now=utcnow(),
    )
    return job.id


async def rows_of(runtime: Runtime, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with runtime.uow(write=False) as uow:
        found = await uow.bulk_jobs.tx.fetchall(sql, params)  # type: ignore[attr-defined]
    return [dict(r) for r in found]


async def results(runtime: Runtime, tenant: Tenant, job_id: str) -> list[list[str]]:
    text = await bulk.results(
        runtime.uow, sealer=runtime.sealer, tenant_id=tenant.id, job_id=job_id
    )
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def shape(view: Any) -> dict[str, Any]:
    return {"id": view.user_id, "inviteRedeemUrl": view.redeem_url, "status": view.status}


async def test_a_row_held_for_an_approver_is_held_not_failed(
    runtime: Runtime, tenant: Tenant
) -> None:
    job_id = await submit(runtime, tenant)
    assert runtime.worker.bulk is not None
    assert await runtime.worker.bulk.runner.run_once()
    job = await bulk.get_job(runtime.uow, tenant_id=tenant.id, job_id=job_id)
    assert job.status == "done"
    assert job.counts == {"done": 1, "held": 2, "failed": 1}
    requests = await rows_of(
        runtime,
        "SELECT id, email, status FROM approval_requests WHERE tenant_id = :t ORDER BY email",
        t=tenant.id,
    )
    assert [(r["email"], r["status"]) for r in requests] == [
        ("kim@fabrikam.example", "PendingApproval"),
        ("max@sub.partner.example", "PendingApproval"),
    ]
    ids = {r["email"]: r["id"] for r in requests}
    rows = await results(runtime, tenant, job_id)
    assert rows[0][4:] == list(bulk_csv.RESULT_HEADINGS)
    kim, lee, bad, max_ = rows[1:]
    public = runtime.settings.http.public_url
    for row, email in ((kim, "kim@fabrikam.example"), (max_, "max@sub.partner.example")):
        assert row[4:6] == ["PendingApproval", "PendingApproval"]
        assert "waits for an approver" in row[6]
        assert ids[email] in row[6]
        assert row[7] == ids[email]
        assert row[8] == f"{public}/api/approvals/{ids[email]}"
    assert lee[4] == "Success"
    assert bad[4:6] == ["Failure", "InvalidEmailAddress"]
    # Nothing was invited or mailed for the held rows.
    invited = await rows_of(
        runtime, "SELECT email FROM invitations WHERE tenant_id = :t", t=tenant.id
    )
    assert [r["email"] for r in invited] == ["lee@elsewhere.example"]
    # The requester's one summary lists the invited guest and, apart, the held ones.
    async with runtime.uow() as uow:  # leased to read the sealed payloads, then rolled back
        claimed = await uow.outbox.claim(now="9999", lease_until="9999", limit=100)
    summaries = [c for c in claimed if c.kind == REQUESTER_SUMMARY and c.tenant_id == tenant.id]
    assert len(summaries) == 1
    summary = decode_payload(
        REQUESTER_SUMMARY, runtime.sealer.open(summaries[0].sealed, f"outbox:{summaries[0].id}")
    )
    assert isinstance(summary, RequesterSummary)
    assert summary.to == "boss@contoso.example"
    assert summary.guests == ("lee@elsewhere.example",)
    assert summary.held == ("kim@fabrikam.example", "max@sub.partner.example")


async def test_approving_a_held_row_invites_the_guest_and_leaves_the_results_as_they_were(
    runtime: Runtime, tenant: Tenant
) -> None:
    job_id = await submit(runtime, tenant)
    assert runtime.worker.bulk is not None
    assert await runtime.worker.bulk.runner.run_once()
    before = await results(runtime, tenant, job_id)
    [kim] = [r for r in before if r[0] == "kim@fabrikam.example"]
    assert runtime.invitations.approvals is not None
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    done = await runtime.invitations.approvals.approve(admin, kim[7], "Known", shape=shape)
    assert done.status == "Approved"
    invited = await rows_of(
        runtime,
        "SELECT email FROM invitations WHERE tenant_id = :t ORDER BY email",
        t=tenant.id,
    )
    assert [r["email"] for r in invited] == ["kim@fabrikam.example", "lee@elsewhere.example"]
    assert await results(runtime, tenant, job_id) == before


async def test_a_hold_whose_row_mark_is_refused_stores_no_request(
    runtime: Runtime, tenant: Tenant
) -> None:
    """The request and the row's mark commit together: a row reached after a cancel (or
    taken over by another worker) leaves no approval request behind."""
    job_id = await submit(runtime, tenant)
    assert runtime.worker.bulk is not None
    runner = runtime.worker.bulk.runner
    job = await runner.claim(job_id)
    assert job is not None
    now = utcnow()
    async with runtime.uow() as uow:
        taken = await uow.bulk_jobs.take(job_id, limit=10, now=iso(now), lease_until="9999")
        await uow.commit()
    assert taken is not None
    assert len(taken) == 3  # the bad row failed at once
    await bulk.cancel_job(runtime.uow, tenant_id=tenant.id, job_id=job_id, now=now)
    columns = bulk_csv.columns_of(job.headings, entra=job.entra)
    actor = Actor(tenant_id=tenant.id, app_id=None, request_id=f"bulk-{job_id}")
    await runner._invite(job, actor, columns, taken)
    assert await rows_of(runtime, "SELECT id FROM approval_requests") == []
    assert (
        await rows_of(runtime, "SELECT email FROM invitations WHERE tenant_id = :t", t=tenant.id)
        == []
    )


async def test_check_only_names_the_rows_that_would_wait_for_an_approver(
    runtime: Runtime, tenant: Tenant
) -> None:
    parsed = bulk.check(FILE)
    waiting = await bulk_held.rows_needing_approval(runtime.uow, tenant_id=tenant.id, parsed=parsed)
    assert waiting == [2, 5]  # the file's row numbers, the heading row being row 1
    assert await rows_of(runtime, "SELECT id FROM approval_requests") == []
    assert await rows_of(runtime, "SELECT id FROM bulk_jobs") == []
