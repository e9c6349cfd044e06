"""The console's Lifecycle page and the notice mail's links, in Chromium on SQLite and
PostgreSQL: a draft's dry run, applying it only from the preview, Keep and Remove, a Reader
who only looks; the scheduler of a `guestgate worker` mails each sponsor one summary through
the real SMTP server, and its Keep link works once. axe-core checks each page; the SQLite
run takes the screenshots."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import GUESTGATE, Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_console_screenshots import SHOTS, Shots
from tests.e2e.test_pages_and_mails import text_of

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
NS = "#microsoft.graph.identityGovernance."
ADMIN = "lee.lifecycle@contoso.example"
READER = "rae.reader@contoso.example"
GUESTS = (
    ("ada.lovelace@fabrikam.example", "Ada Lovelace"),
    ("alan.turing@northwind.example", "Alan Turing"),
)
PREFIX = "console-lifecycle"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-lifecycle-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    running = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    running.start()
    member(running, ADMIN, "Lee Lifecycle", "Global administrator")
    member(running, READER, "Rae Reader", "Reader")
    caller = Caller.demo(running)
    for email, name in GUESTS:
        answer = caller.invite(
            {"invitedUserEmailAddress": email, "invitedUserDisplayName": name, "requestedBy": ADMIN}
        )
        assert answer.status_code == 201, answer.text
    yield running
    running.stop()


def draft(**overrides: Any) -> str:
    policy = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "Redeem within a day",
        "isEnabled": True,
        "gracePeriodInDays": 2,
        "enforcementAction": {"@odata.type": f"{NS}disableOnlyEnforcementAction"},
        "rules": [
            {
                "@odata.type": f"{NS}invitationRedemptionRule",
                "invitationRedemptionThresholdInDays": 1,
            }
        ],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [0]},
    }
    return json.dumps(policy | overrides, indent=2)


def test_dry_run_apply_keep_remove_and_a_reader(
    server: Server, sink: SmtpSink, chromium: Any, request: pytest.FixtureRequest
) -> None:
    shoot = "sqlite" in request.node.callspec.id
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    shots = Shots(page)
    sign_in(page, server, sink, ADMIN, path="lifecycle")
    assert page.get_by_role("link", name="Lifecycle").get_attribute("aria-current") == "page"
    assert "Choose a policy or preview a draft" in page.content()
    page.get_by_label("Policy (Graph's guestLifecyclePolicy JSON)").fill(draft())
    page.get_by_role("button", name="Dry run").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert "Ada Lovelace" in rows.nth(0).inner_text() + rows.nth(1).inner_text()
    if shoot:
        shots.take(f"{PREFIX}-preview")
    bad = draft(gracePeriodInDays=99)
    page.get_by_label("Policy (Graph's guestLifecyclePolicy JSON)").fill(bad)
    page.get_by_role("button", name="Dry run").click()
    assert "gracePeriodInDays: 99 is out of range" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Apply this policy").count() == 0
    if shoot:
        shots.take(f"{PREFIX}-invalid")
    page.get_by_label("Policy (Graph's guestLifecyclePolicy JSON)").fill(draft())
    page.get_by_role("button", name="Dry run").click()
    page.get_by_role("button", name="Apply this policy").click()
    assert "applied" in page.get_by_role("status").inner_text()
    assert "Redeem within a day (version 1)" in page.get_by_label("Policy", exact=True).inner_text()
    if shoot:
        shots.take(PREFIX)  # it makes ids steady in the page: open it again before a click
        page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/lifecycle")
    page.get_by_role("button", name=f"Remove {GUESTS[1][0]}").click()
    assert "Guest removed." in page.get_by_role("status").inner_text()
    assert GUESTS[1][0] not in page.locator("tbody").inner_text()
    page.get_by_role("button", name=f"Keep {GUESTS[0][0]}").click()
    assert "Guest kept." in page.get_by_role("status").inner_text()
    # The guest's profile has Keep and Remove too.
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests")
    page.get_by_role("link", name=GUESTS[0][1]).first.click()
    page.get_by_role("button", name="Keep", exact=True).click()
    assert "Guest kept." in page.get_by_role("status").inner_text()
    context.close()

    context = chromium.new_context(viewport={"width": 375, "height": 800})
    shots.page = page = context.new_page()
    sign_in(page, server, sink, READER, path="lifecycle")
    assert GUESTS[0][0] in page.locator("tbody").inner_text()
    assert page.get_by_role("button", name=re.compile("^Keep")).count() == 0
    assert page.get_by_role("button", name="Dry run").count() == 0
    if shoot:
        shots.take(f"{PREFIX}-reader-narrow")
    context.close()
    assert shots.violations == []
    if shoot:
        mine = sorted(p.stem for p in SHOTS.glob(f"{PREFIX}*.png"))
        assert mine == sorted(shots.names)


def test_a_worker_mails_each_sponsor_once_and_its_link_works_once(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    caller = Caller.new_app(server, DEMO_TENANT, "LifecyclePolicies-Guests.ReadWrite.All")
    strict = json.loads(
        draft(
            displayName="Two sponsors",
            gracePeriodInDays=3,
            rules=[{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 2}],
        )
    )
    made = caller.request(
        "POST", "/v1.0/identityGovernance/lifecycleWorkflows/lifecyclePolicies", json=strict
    )
    assert made.status_code == 201, made.text
    before = len(sink.messages(to=ADMIN, subject_contains="need your decision"))
    worker = subprocess.Popen(
        [*GUESTGATE, "worker", "--poll", "0.2"],
        env=server.env(),
        cwd=server.workdir,
        stderr=subprocess.DEVNULL,
    )
    try:
        [notice] = sink.wait_for(before + 1, to=ADMIN, subject_contains="need your decision")[
            before:
        ]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    text = text_of(notice)
    assert GUESTS[0][0] in text
    keep = re.search(r"Keep: (\S+)", text)
    assert keep is not None
    context = chromium.new_context()
    page = context.new_page()
    page.goto(keep.group(1))
    assert page.get_by_role("heading", name="Keep this guest?").count() == 1
    page.get_by_role("button", name="Keep").click()
    assert "The guest was kept" in page.content()
    page.goto(keep.group(1))
    page.get_by_role("button", name="Keep").click()
    assert "This link was used already." in page.content()
    context.close()
    # One summary for the sponsor, whatever number of workers ran the pass.
    assert len(sink.messages(to=ADMIN, subject_contains="need your decision")) == before + 1
