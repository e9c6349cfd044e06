"""Lifecycle policies in Microsoft 365 mode, on SQLite and PostgreSQL for guestgate's own
database: the guests the rules read come from Graph (a local-mode guestgate stands in for
Microsoft Graph and Entra, as in test_graph_mode_users.py): `$filter=userType eq 'Guest'`,
signInActivity, sponsors. The dry run names them with their dates, the CLI's too; moving the
clock, the scheduler disables and deletes them in the stand-in, each step once, as the dry
run said."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from guestgate.adapters.sql import migrate
from guestgate.bootstrap import build_runtime
from guestgate.config import DatabaseSettings, GraphSettings, Settings
from guestgate.domain.lifecycle_eval import IMPACT_ACTION, GuestFacts
from guestgate.domain.messages import LIFECYCLE_NOTICE
from guestgate.domain.timestamps import utcnow
from guestgate.runtime import Runtime
from guestgate.services import keys, lifecycle
from guestgate.services.graph_lifecycle_facts import GraphGuestFacts
from guestgate.services.lifecycle_actions import DirectoryLifecycleActions
from guestgate.services.lifecycle_scheduler import run_pass
from tests.e2e.server import Caller, Server
from tests.e2e.signin import Browser, accepted_guest, latest_code, new_app, pkce
from tests.e2e.smtp import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
NS = "#microsoft.graph.identityGovernance."
CALLBACK = "https://app.example/callback"
DELETED = "/v1.0/directory/deletedItems"
POLICY: dict[str, Any] = {
    "@odata.type": f"{NS}guestLifecyclePolicy",
    "displayName": "Redeem in 3 days, sign in every 5",
    "isEnabled": True,
    "gracePeriodInDays": 2,
    "enforcementAction": {
        "@odata.type": f"{NS}disableThenDeleteEnforcementAction",
        "deletionGracePeriodInDays": 2,
    },
    "rules": [
        {"@odata.type": f"{NS}invitationRedemptionRule", "invitationRedemptionThresholdInDays": 3},
        {"@odata.type": f"{NS}inactivityRule", "lastActivityThresholdInDays": 5},
        # Every guest has a sponsor in Graph: this rule holds only if sponsors are read there.
        {"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 1},
    ],
    "notificationSchedule": {"offsetsAfterNonComplianceInDays": [0]},
}


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft-lifecycle")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        tls=True,
        extra_env={"GUESTGATE_SMTP_URL": sink.url},
    )
    server.start()
    yield server
    server.stop()


@dataclass
class Tenant:
    """The stand-in's tenant: its guests by kind, their sponsor, and a caller that reads it."""

    graph: Caller
    pending: str
    active: str
    inactive: str
    sponsor_mail: str


def signed_in(microsoft: Server, sink: SmtpSink, email: str) -> None:
    """The guest signs in to an app of the tenant (Graph's lastSuccessfulSignInDateTime)."""
    app = new_app(microsoft, CALLBACK)
    _, challenge = pkce()
    browser = Browser(microsoft)
    try:
        page = browser.authorize(
            "contoso.example",
            client_id=app["AppID"],
            response_type="code",
            redirect_uri=CALLBACK,
            scope="openid",
            state=secrets.token_urlsafe(8),
            nonce=secrets.token_hex(8),
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        before = len(sink.messages(to=email, subject_contains="verification code"))
        assert browser.start(page, email).status_code == 303
        assert browser.enter_code(latest_code(sink, email, before + 1)).status_code == 303
    finally:
        browser.close()


@pytest.fixture
def tenant(microsoft: Server, sink: SmtpSink) -> Tenant:
    graph = Caller.new_app(
        microsoft, "contoso.example", "User.Read.All", "User.ReadWrite.All", "AuditLog.Read.All"
    )
    invited = Caller.demo(microsoft).invite(
        {
            "invitedUserEmailAddress": f"never.{uuid.uuid4().hex[:8]}@fabrikam.example",
            "sendInvitationMessage": False,
        }
    )
    assert invited.status_code == 201, invited.text
    pending = str(invited.json()["invitedUser"]["id"])
    active_mail, active = accepted_guest(microsoft, sink)
    signed_in(microsoft, sink, active_mail)
    _, inactive = accepted_guest(microsoft, sink)
    sponsor_mail = f"sam.{uuid.uuid4().hex[:8]}@contoso.example"
    made = microsoft.cli(
        "user", "create", "--tenant", graph.tenant, "--email", sponsor_mail, "--name", "Sam",
        "--json",
    )  # fmt: skip
    sponsor = json.loads(made.stdout)["id"]
    for guest in (pending, active, inactive):
        answer = graph.request(
            "POST",
            f"/v1.0/users/{guest}/sponsors/$ref",
            json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{sponsor}"},
        )
        assert answer.status_code == 204, answer.text
    return Tenant(graph, pending, active, inactive, sponsor_mail)


def broker_env(microsoft: Server, own: dict[str, str], url: str, key: bytes) -> dict[str, str]:
    return {
        "GUESTGATE_DIRECTORY": "graph",
        "GUESTGATE_GRAPH_URL": microsoft.base_url,
        "GUESTGATE_ENTRA_URL": microsoft.base_url,
        "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
        "GUESTGATE_GRAPH_CLIENT_ID": own["AppID"],
        "GUESTGATE_GRAPH_CLIENT_SECRET": own["AppSecret"],
        "GUESTGATE_GRAPH_TENANT": own["TenantID"],
        "GUESTGATE_DATABASE_URL": url,
        "GUESTGATE_SECRET_KEY": base64.urlsafe_b64encode(key).decode(),
    }


@dataclass
class Broker:
    runtime: Runtime
    env: dict[str, str]
    tenant_id: str
    workdir: Path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def broker(
    request: pytest.FixtureRequest, tmp_path: Path, microsoft: Server
) -> AsyncIterator[Broker]:
    """guestgate in Microsoft 365 mode with its own app registration in the tenant (User.Read.All,
    AuditLog.Read.All for signInActivity, User.ReadWrite.All to disable and delete)."""
    own = microsoft.create_app(
        "contoso.example",
        "guestgate broker",
        "User.Invite.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "AuditLog.Read.All",
    )
    url = (
        f"sqlite:///{tmp_path}/broker.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    migrate.upgrade(url)
    key = secrets.token_bytes(32)
    settings = Settings(
        database=DatabaseSettings(url=url),
        secret_key=key,
        directory="graph",
        graph=GraphSettings(
            url=microsoft.base_url,
            entra_url=microsoft.base_url,
            ca_file=str(microsoft.cert),
            client_id=own["AppID"],
            client_secret=own["AppSecret"],
            tenant=own["TenantID"],
        ),
    )
    runtime = build_runtime(settings, pool_size=4, connect_graph=True)
    await keys.ensure_signing_key(runtime.uow(), sealer=runtime.sealer, now=utcnow())
    yield Broker(runtime, broker_env(microsoft, own, url, key), own["TenantID"], tmp_path)
    await runtime.close()


def graph_user(tenant: Tenant, user_id: str) -> dict[str, Any]:
    answer = tenant.graph.request(
        "GET",
        f"/v1.0/users/{user_id}",
        params={"$select": "id,createdDateTime,externalUserState,signInActivity"},
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def day_of(graph_time: str) -> date:
    return datetime.fromisoformat(graph_time).date()


async def test_the_guests_come_from_graph_and_the_scheduler_acts_there_once(
    microsoft: Server, tenant: Tenant, broker: Broker
) -> None:
    runtime = broker.runtime
    mine = {tenant.pending, tenant.active, tenant.inactive}
    listed = {g.user_id: g async for g in runtime.guest_facts.guests(broker.tenant_id)}
    assert mine <= set(listed)  # guestgate's own database holds none of them
    async with runtime.uow(write=False) as uow:
        assert await uow.lifecycle.guests(broker.tenant_id) == []
    # Page by page (@odata.nextLink), two guests a page: the same guests.
    assert runtime.graph is not None
    paged = GraphGuestFacts(
        runtime.uow,
        client=runtime.graph.client,
        app_tokens=runtime.graph.app_tokens,
        graph_url=runtime.settings.graph.url,
        top=2,
    )
    assert [g async for g in paged.guests(broker.tenant_id)] == list(listed.values())
    facts: dict[str, GuestFacts] = {u: listed[u] for u in mine}
    assert facts[tenant.pending].pending
    assert not facts[tenant.active].pending
    assert not facts[tenant.inactive].pending
    activity = graph_user(tenant, tenant.active)["signInActivity"]
    assert activity["lastSuccessfulSignInDateTime"] is not None
    last = facts[tenant.active].last_sign_in
    assert last is not None
    assert last.strftime("%Y-%m-%dT%H:%M:%SZ") == activity["lastSuccessfulSignInDateTime"]
    assert facts[tenant.inactive].last_sign_in is None
    assert all(len(facts[u].sponsors) == 1 for u in mine)
    assert all(facts[u].enabled for u in mine)

    start = utcnow()
    policy = await lifecycle.create_policy(
        runtime.uow(),
        guests=runtime.guest_facts,
        tenant_id=broker.tenant_id,
        raw=POLICY,
        now=start,
        who=lifecycle.Who(user="test"),
    )
    end = start + timedelta(days=12)
    window = await lifecycle.evaluate(
        runtime.guest_facts, policy, start=start.date(), end=end.date()
    )
    predicted = sorted(
        (g.user_id, step, day.isoformat())
        for g, steps in window.items
        for step, day in steps
        if g.user_id in mine
    )
    # The dates: the redemption rule from the invitation, inactivity from the last sign-in
    # (the inactive guest from its creation), both as Graph has them.
    invited = day_of(graph_user(tenant, tenant.pending)["createdDateTime"])
    signed = day_of(activity["lastSuccessfulSignInDateTime"])
    created = day_of(graph_user(tenant, tenant.inactive)["createdDateTime"])

    def course(user: str, base: date, threshold: int) -> list[tuple[str, str, str]]:
        late = base + timedelta(days=threshold)
        return [
            (user, "notify", late.isoformat()),
            (user, "disable", (late + timedelta(days=2)).isoformat()),
            (user, "delete", (late + timedelta(days=4)).isoformat()),
        ]

    expected = sorted(
        course(tenant.pending, invited, 3)
        + course(tenant.active, signed, 5)
        + course(tenant.inactive, created, 5)
    )
    assert predicted == expected

    # The CLI's dry run reads the same guests from Graph.
    as_of = (start + timedelta(days=10)).date().isoformat()
    command = [sys.executable, "-m", "guestgate", "lifecycle", "evaluate"]
    command += ["--tenant", broker.tenant_id, "--as-of", as_of, "--json"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
    out = await asyncio.to_thread(
        subprocess.run,
        command,
        env=environment | broker.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    rows = {r["guest"]: r for r in json.loads(out.stdout)["value"] if r["guest"] in mine}
    assert set(rows) == mine
    assert rows[tenant.pending]["disableOn"] == course(tenant.pending, invited, 3)[1][2]
    assert rows[tenant.inactive]["deleteOn"] == course(tenant.inactive, created, 5)[2][2]

    # The API's dry run, through a broker server on the same database (no worker of its own).
    reader = microsoft.create_app("contoso.example", "HR", "LifecyclePolicies-Guests.Read.All")
    with microsoft.client() as client:
        token = client.post(
            f"/{reader['TenantID']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": reader["AppID"],
                "client_secret": reader["AppSecret"],
                "scope": "api://guestgate/.default",
            },
        ).json()["access_token"]
    server = Server(
        workdir=broker.workdir,
        database_url=broker.env["GUESTGATE_DATABASE_URL"],
        extra_env=broker.env,
        mail_worker=False,
    ).start()
    try:
        window_args = (
            f"startDateTime={start:%Y-%m-%dT00:00:00Z},endDateTime={end:%Y-%m-%dT00:00:00Z}"
        )
        with server.client() as client:
            answer = client.get(
                f"/api/identityGovernance/lifecycleWorkflows/lifecyclePolicies/{policy.id}"
                f"/impact({window_args})",
                params={"$expand": "subject"},
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        server.stop()
    assert answer.status_code == 200, answer.text
    step_of = {v: k for k, v in IMPACT_ACTION.items()}
    served = sorted(
        (item["subject"]["id"], step_of[a["actionType"]], a["dateTime"][:10])
        for item in answer.json()["value"]
        if item["subject"]["id"] in mine
        for a in item["actionsTaken"]
    )
    assert served == predicted

    # Moving the clock: one pass a day, then a second worker's pass on the last day.
    actions = DirectoryLifecycleActions(users=runtime.user_admin, invitations=runtime.invitations)
    keyset = await runtime.keyring.current()

    async def one_pass(now: datetime) -> int:
        result = await run_pass(
            runtime.uow,
            actions,
            guests=runtime.guest_facts,
            now=now,
            keys=keyset,
            link_base="https://gg.test",
            sealer=runtime.sealer,
        )
        return result.notified + result.disabled + result.deleted

    for day in range(13):
        await one_pass(start + timedelta(days=day, hours=1))
    assert await one_pass(end + timedelta(hours=2)) == 0
    async with runtime.uow(write=False) as uow:
        rows_done = await uow.lifecycle_steps.list(broker.tenant_id)
        mails = await uow.outbox.list(status=None, limit=500)
    assert all(r.status == "done" for r in rows_done)
    done = sorted((r.key.user_id, r.key.step, r.key.due_on) for r in rows_done)
    assert [d for d in done if d[0] in mine] == predicted
    assert len(done) == len(set(done))
    # The notices went to the sponsor Graph names.
    assert tenant.sponsor_mail in {m.recipient for m in mails if m.kind == LIFECYCLE_NOTICE}

    # In the stand-in: each guest gone to deleted items, disabled first.
    for user in mine:
        assert tenant.graph.request("GET", f"/v1.0/users/{user}").status_code == 404
        gone = tenant.graph.request(
            "GET", f"{DELETED}/{user}", params={"$select": "id,accountEnabled"}
        )
        assert gone.status_code == 200, gone.text
        assert gone.json()["accountEnabled"] is False
    after = {g.user_id async for g in runtime.guest_facts.guests(broker.tenant_id)}
    assert not mine & after
