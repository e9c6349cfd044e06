"""Invitations held for an approver, on SQLite and PostgreSQL: a held invite stores the
request and nothing else; approval makes the invitation and queues its mail and the
requester's notice; decline and expiry tell the requester; a request is decided once, also
when two approvers press together; bad input is refused with nothing stored."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from guestgate.bootstrap import build_runtime
from guestgate.config import Settings
from guestgate.domain import invitation_policy as rules
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.tenants import Tenant
from guestgate.domain.timestamps import utcnow
from guestgate.errors import (
    Conflict,
    GuestgateError,
    NotFound,
    PendingApproval,
    PermissionDenied,
    ValidationError,
)
from guestgate.runtime import Runtime
from guestgate.services import bulk, tenants
from guestgate.services import invitation_policies as policies
from guestgate.services.approvals import ApprovalService
from guestgate.services.directory import Actor

pytestmark = pytest.mark.anyio
TABLES = ("users", "invitations", "outbox", "events", "approval_requests")


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


def approvals_of(runtime: Runtime) -> ApprovalService:
    assert runtime.invitations.approvals is not None
    return runtime.invitations.approvals


async def counts(runtime: Runtime) -> dict[str, int]:
    found = {}
    async with runtime.uow(write=False) as uow:
        for table in TABLES:
            row = await uow.audit.tx.fetchone(f"SELECT COUNT(*) AS n FROM {table}")  # type: ignore[attr-defined]
            assert row is not None
            found[table] = int(row["n"])
    return found


def request(email: str, **more: Any) -> Any:
    return build_invite_request(
        email=email,
        send_message=True,
        redirect_url="https://contoso.example/app",
        requested_by="adele@contoso.example",
        **more,
    )


async def hold(runtime: Runtime, tenant: Tenant, email: str) -> PendingApproval:
    actor = Actor(tenant_id=tenant.id, app_id=None)
    with pytest.raises(PendingApproval) as held:
        await runtime.invitations.invite(actor, request(email))
    return held.value


def shape(view: Any) -> dict[str, Any]:
    return {"id": view.user_id, "inviteRedeemUrl": view.redeem_url, "status": view.status}


async def test_a_held_invite_stores_the_request_and_nothing_else(
    runtime: Runtime, tenant: Tenant
) -> None:
    before = await counts(runtime)
    held = await hold(runtime, tenant, "ann@fabrikam.example")
    actor = Actor(tenant_id=tenant.id, app_id=None)
    many = await runtime.invitations.invite_many(
        actor, [request("bob@a.partner.example"), request("cy@elsewhere.example")]
    )
    assert isinstance(many[0], PendingApproval)
    assert not isinstance(many[1], GuestgateError)  # not on the approval list: invited
    after = await counts(runtime)
    assert after["approval_requests"] == before["approval_requests"] + 2
    assert after["invitations"] == before["invitations"] + 1  # cy's only
    assert after["users"] == before["users"] + 1
    found = await approvals_of(runtime).get(tenant.id, held.request_id)
    assert (found.status, found.email, found.requested_by) == (
        "PendingApproval",
        "ann@fabrikam.example",
        "adele@contoso.example",
    )
    assert held.status_url.endswith(f"/api/approvals/{held.request_id}")


async def test_approval_makes_the_invitation_and_queues_its_mails(
    runtime: Runtime, tenant: Tenant
) -> None:
    held = await hold(runtime, tenant, "dee@fabrikam.example")
    before = await counts(runtime)
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    done = await approvals_of(runtime).approve(admin, held.request_id, "Known partner", shape=shape)
    assert (done.status, done.comment, done.decided_by) == (
        "Approved",
        "Known partner",
        "admin@contoso.example",
    )
    answer = approvals_of(runtime).answer(done)
    assert answer is not None
    assert answer["inviteRedeemUrl"].startswith("http")
    after = await counts(runtime)
    assert after["invitations"] == before["invitations"] + 1
    assert after["outbox"] == before["outbox"] + 2  # the invitation and the requester's notice
    with pytest.raises(Conflict) as again:
        await approvals_of(runtime).decline(admin, held.request_id, None)
    assert again.value.code == "ApprovalAlreadyDecided"
    assert await counts(runtime) == after


async def test_decline_tells_the_requester_and_makes_nothing(
    runtime: Runtime, tenant: Tenant
) -> None:
    held = await hold(runtime, tenant, "eve@fabrikam.example")
    before = await counts(runtime)
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    done = await approvals_of(runtime).decline(admin, held.request_id, "Not this one")
    assert (done.status, done.comment) == ("Declined", "Not this one")
    after = await counts(runtime)
    assert after["invitations"] == before["invitations"]
    assert after["outbox"] == before["outbox"] + 1


async def test_open_requests_expire_once_and_then_cannot_be_decided(
    runtime: Runtime, tenant: Tenant
) -> None:
    held = await hold(runtime, tenant, "fay@fabrikam.example")
    service = approvals_of(runtime)
    assert await service.expire_due() == 0
    later = utcnow() + timedelta(days=14, minutes=1)
    service.now = lambda: later
    found = await service.get(tenant.id, held.request_id)
    assert found.state(later) == "Expired"  # on read, before the sweep
    before = await counts(runtime)
    assert await service.expire_due() == 1
    assert await service.expire_due() == 0
    assert (await counts(runtime))["outbox"] == before["outbox"] + 1  # the requester, once
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    with pytest.raises(Conflict) as late:
        await service.approve(admin, held.request_id, None, shape=shape)
    assert "Expired" in late.value.message


async def test_two_approvers_at_once_decide_it_once(runtime: Runtime, tenant: Tenant) -> None:
    service = approvals_of(runtime)
    for rounds in range(3):
        held = await hold(runtime, tenant, f"race{rounds}@fabrikam.example")
        before = await counts(runtime)
        one = Actor(tenant_id=tenant.id, app_id=None, user="one@contoso.example")
        two = Actor(tenant_id=tenant.id, app_id=None, user="two@contoso.example")
        answers = await asyncio.gather(
            service.approve(one, held.request_id, "yes", shape=shape),
            service.approve(two, held.request_id, "also yes", shape=shape)
            if rounds != 1
            else service.decline(two, held.request_id, "no"),
            return_exceptions=True,
        )
        won = [a for a in answers if not isinstance(a, BaseException)]
        lost = [a for a in answers if isinstance(a, BaseException)]
        assert (len(won), len(lost)) == (1, 1), answers
        assert isinstance(lost[0], Conflict)
        stored = await service.get(tenant.id, held.request_id)
        assert stored.status == won[0].status
        assert stored.decided_by == won[0].decided_by
        made = (await counts(runtime))["invitations"] - before["invitations"]
        assert made == (1 if stored.status == "Approved" else 0)


async def test_bad_input_is_refused_and_nothing_is_stored(runtime: Runtime, tenant: Tenant) -> None:
    service = approvals_of(runtime)
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    held = await hold(runtime, tenant, "gil@fabrikam.example")
    before = await counts(runtime)
    with pytest.raises(NotFound):
        await service.approve(admin, "6f1c1f7a-0000-4000-8000-000000000000", None, shape=shape)
    with pytest.raises(ValidationError) as long:
        await service.approve(admin, held.request_id, "x" * 1001, shape=shape)
    assert long.value.code == "InvalidApprovalComment"
    with pytest.raises(ValidationError):
        await service.decline(admin, held.request_id, 42)
    other = Actor(tenant_id="7e1c1f7a-0000-4000-8000-000000000000", app_id=None)
    with pytest.raises(NotFound):
        await service.decline(other, held.request_id, None)
    assert await counts(runtime) == before
    assert (await service.get(tenant.id, held.request_id)).status == "PendingApproval"


async def test_the_gate_runs_again_on_approval(runtime: Runtime, tenant: Tenant) -> None:
    held = await hold(runtime, tenant, "hal@fabrikam.example")
    await policies.set_policy(
        runtime.uow(),
        tenant_id=tenant.id,
        now=utcnow(),
        domains=rules.from_lists(allowed=None, blocked=["fabrikam.example"]),
    )
    before = await counts(runtime)
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    with pytest.raises(PermissionDenied) as refused:
        await approvals_of(runtime).approve(admin, held.request_id, None, shape=shape)
    assert refused.value.code == "DomainNotAllowed"
    assert await counts(runtime) == before
    assert (await approvals_of(runtime).get(tenant.id, held.request_id)).status == (
        "PendingApproval"
    )


async def test_outside_allowed_holds_what_the_allow_list_would_refuse(
    runtime: Runtime, tenant: Tenant
) -> None:
    await policies.set_policy(
        runtime.uow(),
        tenant_id=tenant.id,
        now=utcnow(),
        domains=rules.from_lists(allowed=["fabrikam.example"], blocked=None),
        approval=rules.parse_approval({"requiredFor": "outsideAllowed"}),
    )
    actor = Actor(tenant_id=tenant.id, app_id=None)
    view = await runtime.invitations.invite(actor, request("ida@fabrikam.example"))
    assert view.status == "PendingAcceptance"
    held = await hold(runtime, tenant, "jo@outside.example")
    admin = Actor(tenant_id=tenant.id, app_id=None, user="admin@contoso.example")
    done = await approvals_of(runtime).approve(admin, held.request_id, None, shape=shape)
    assert done.status == "Approved"


def test_the_approval_setting_is_validated_naming_the_field() -> None:
    for value, where in (
        ({"requiredFor": "everything"}, "guestgateApproval.requiredFor"),
        ({"requiredFor": ["no-dot"]}, "guestgateApproval.requiredFor[0]"),
        ({"requestLifetimeDays": 0}, "guestgateApproval.requestLifetimeDays"),
        ({"requestLifetimeDays": 91}, "guestgateApproval.requestLifetimeDays"),
        ({"other": 1}, "guestgateApproval has unknown fields: other"),
        ("yes", "guestgateApproval must be"),
    ):
        with pytest.raises(ValidationError) as refused:
            rules.parse_approval(value)
        assert refused.value.code == "InvalidInvitationPolicy"
        assert where in refused.value.message
    assert rules.parse_approval(None) == rules.NO_APPROVAL
    rule = rules.parse_approval({"requiredFor": ["Fabrikam.Example"], "requestLifetimeDays": 3})
    assert rule.to_json() == {"requiredFor": ["fabrikam.example"], "requestLifetimeDays": 3}


async def test_a_bulk_job_row_to_a_held_domain_waits_and_is_not_invited(
    runtime: Runtime, tenant: Tenant
) -> None:
    data = (
        b"email,inviteRedirectURL,sendEmail\n"
        b"kim@fabrikam.example,https://contoso.example,TRUE\n"
        b"lee@elsewhere.example,https://contoso.example,TRUE\n"
    )
    job = await bulk.create_job(
        runtime.uow,
        sealer=runtime.sealer,
        actor=Actor(tenant_id=tenant.id, app_id=None),
        parsed=bulk.check(data),
        now=utcnow(),
    )
    before = await counts(runtime)
    assert runtime.worker.bulk is not None
    assert await runtime.worker.bulk.runner.run_once()
    text = await bulk.results(
        runtime.uow, sealer=runtime.sealer, tenant_id=tenant.id, job_id=job.id
    )
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    held, invited = rows[1], rows[2]
    assert held[3:5] == ["PendingApproval", "PendingApproval"]  # held, not failed
    assert "waits for an approver" in held[5]
    assert invited[3] == "Success"
    after = await counts(runtime)
    assert after["approval_requests"] == before["approval_requests"] + 1
    assert after["invitations"] == before["invitations"] + 1  # lee's only


async def test_administrators_and_the_named_sponsors_approve(
    runtime: Runtime, tenant: Tenant
) -> None:
    actor = Actor(tenant_id=tenant.id, app_id=None)
    sponsor = "5b0f1c1a-0000-4000-8000-000000000001"
    service = approvals_of(runtime)
    held = await service.hold(actor, request("kai@fabrikam.example"), 14)
    found = await service.get(tenant.id, held.request_id)
    found = replace(found, sponsors=(sponsor,))
    service.check_approver(found, admin=True, user_id=None)
    service.check_approver(found, admin=False, user_id=sponsor)
    for user_id in (None, "5b0f1c1a-0000-4000-8000-000000000002"):
        with pytest.raises(PermissionDenied) as refused:
            service.check_approver(found, admin=False, user_id=user_id)
        assert refused.value.code == "NotAnApprover"
