"""The console's Webhooks pages and Activity view in Chromium, on SQLite and PostgreSQL.

An administrator adds an endpoint for a real local receiver and sees its secret once;
a guest invited in the console reaches the receiver signed so that `standardwebhooks`
verifies it with that secret; the delivery log shows the attempt (the receiver's answer as
text); replay, rotate, disable, remove. The Activity view lists the invitation with the
person who made it. A Reader sees the pages and every post is refused; other roles get 403.
axe-core checks every page.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import serious_violations
from tests.leaks import REGISTRY
from tests.webhook_receiver import Receiver, Reply

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
HOSTILE = b"<img src=x onerror=alert(1)><b>bold</b> & more"
HOOKS_ENV = {"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true", "GUESTGATE_WEBHOOK_RETRY_SCALE": "0.001"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-events-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    env = {"GUESTGATE_SMTP_URL": sink.url, **HOOKS_ENV}
    server = Server(workdir=workdir, database_url=url, extra_env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(script=[Reply(200, body=HOSTILE)]).start()
    yield running
    running.stop()


def _address(prefix: str, domain: str = "contoso.example") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}@{domain}"


def _wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _invite(page: Any, server: Server, email: str) -> None:
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/invite")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Send the invitation email").uncheck()
    page.get_by_role("button", name="Invite", exact=True).click()
    assert page.inner_text("h1") == "Invitation created"


def _log_rows(page: Any) -> list[list[str]]:
    return [
        r.locator("td").all_inner_texts()
        for r in page.locator("table").last.locator("tbody tr").all()
        if r.locator("td").count() == 5
    ]


def _audit(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout
    )
    return found


def test_an_admin_adds_an_endpoint_sees_its_deliveries_and_manages_it(
    server: Server, sink: SmtpSink, chromium: Any, receiver: Receiver
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    context = chromium.new_context()
    page = context.new_page()
    dialogs: list[str] = []

    def dialog(d: Any) -> None:
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    violations: list[str] = []
    sign_in(page, server, sink, admin, path="webhooks")
    assert page.inner_text("h1") == "Webhooks"
    violations += serious_violations(page)

    page.get_by_label("URL").fill(receiver.url)
    page.locator('input[name="event.invitation.created"]').check()
    page.locator('input[name="event.invitation.revoked"]').check()
    page.get_by_role("button", name="Add endpoint").click()
    assert page.inner_text("h1") == "Webhook endpoint"
    secret = page.get_by_label("Signing secret").input_value()
    REGISTRY.secret(secret, "webhook secret")
    assert secret.startswith("whsec_")
    violations += serious_violations(page)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/webhooks")
    assert secret not in page.content()
    page.get_by_role("link", name=receiver.url).click()
    detail = page.url
    assert secret not in page.content()  # shown once, never again
    assert "invitation.created, invitation.revoked" in page.inner_text("dl.props")

    guest = _address("ada", "fabrikam.example")
    _invite(page, server, guest)
    _wait_for(lambda: len(receiver.received) == 1)
    (got,) = receiver.received
    payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "invitation.created"
    assert payload["data"]["invitedUserEmailAddress"] == guest

    def logged(count: int) -> bool:
        page.goto(detail)
        return len(_log_rows(page)) == count

    _wait_for(lambda: logged(1))
    ((_, event_id, status, latency, excerpt),) = _log_rows(page)
    assert (event_id, status) == (got.webhook_id, "200")
    assert latency.endswith(" ms")
    assert excerpt == HOSTILE.decode()  # the receiver's answer as text, not as markup
    assert page.locator("td.excerpt img, td.excerpt b").count() == 0
    assert "1 delivered" in page.inner_text("dl.props")
    violations += serious_violations(page)
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/webhooks")
    row = page.locator("tbody tr").first.locator("td").all_inner_texts()
    assert row[0] == receiver.url
    assert (row[2], row[4], row[5], row[6]) == ("Enabled", "1", "0", "0")

    page.get_by_role("link", name="Activity").click()
    assert page.inner_text("h1") == "Activity"
    violations += serious_violations(page)
    created = page.locator("tbody tr", has_text=got.webhook_id)
    cells = created.locator("td").all_inner_texts()
    assert cells[2] == "invitation.created"
    assert payload["data"]["invitationId"] in cells[3]
    assert cells[4].splitlines()[0] == admin  # the person behind the console's request
    page.get_by_label("Type").select_option("invitation.revoked")
    page.get_by_role("button", name="Apply").click()
    assert page.locator("tbody").inner_text() == "No events match."

    page.goto(detail)
    page.get_by_label("Event id").fill(got.webhook_id)
    page.get_by_role("button", name="Replay the event").click()
    assert "Queued again: 1 event(s)." in page.inner_text("main")
    _wait_for(lambda: len(receiver.received) == 2)
    assert receiver.received[1].webhook_id == got.webhook_id  # a repeat keeps its id

    page.get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_label("Signing secret").input_value()
    REGISTRY.secret(rotated, "webhook secret")
    assert rotated.startswith("whsec_")
    assert rotated != secret
    assert "previous secret also signs" in page.inner_text("main")
    violations += serious_violations(page)
    _invite(page, server, _address("grace", "fabrikam.example"))
    _wait_for(lambda: len(receiver.received) == 3)
    third = receiver.received[2]
    assert standardwebhooks.Webhook(rotated).verify(third.body, third.headers)["type"] == (
        "invitation.created"
    )
    standardwebhooks.Webhook(secret).verify(third.body, third.headers)  # the overlap

    page.goto(detail)
    page.get_by_role("button", name="Disable").click()
    assert "Deliveries are off" in page.inner_text("main")
    assert "Disabled" in page.inner_text("dl.props")
    _invite(page, server, _address("alan", "northwind.example"))
    time.sleep(3)  # the worker polls about every second: a delivery would have been made
    assert len(receiver.received) == 3
    page.goto(detail)
    page.get_by_role("button", name="Enable").click()
    assert "Deliveries are on again" in page.inner_text("main")

    page.get_by_role("button", name="Remove").click()
    assert "Its pending deliveries and its delivery log go with it" in page.inner_text("main")
    violations += serious_violations(page)
    page.get_by_role("button", name="Yes, remove").click()
    assert "The endpoint was removed" in page.inner_text("main")
    assert page.locator("tbody").inner_text() == "No webhook endpoints yet."
    assert page.goto(detail).status == 404

    audit = [e for e in _audit(server) if e["action"].startswith("webhook.")]
    assert [e["action"] for e in reversed(audit)] == [
        "webhook.add",
        "webhook.replay",
        "webhook.rotate_secret",
        "webhook.disable",
        "webhook.enable",
        "webhook.remove",
    ]
    assert {e["actor"] for e in audit} == {admin}
    context.close()
    assert dialogs == []
    assert violations == []


def test_bad_input_is_named_and_stores_nothing(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = _address("admin")
    member(server, admin, "Avery Admin", "User administrator")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin, path="webhooks")
    base = f"{server.base_url}/admin/{DEMO_TENANT}"
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    before = page.locator("tbody a").count()
    for url, named in (
        ("ftp://hooks.example.com/x", "https"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("", "URL"),
    ):
        answer = page.request.post(f"{base}/webhooks", form={"csrf": csrf, "url": url})
        assert answer.status == 400, answer.text()
        assert named in answer.text()
    answer = page.request.post(
        f"{base}/webhooks",
        form={"csrf": csrf, "url": "http://127.0.0.1:9/x", "event.no.such": "yes"},
    )
    assert answer.status == 201  # an unknown checkbox is not a type: every type
    (secret,) = re.findall(r"whsec_[A-Za-z0-9+/=]+", answer.text())
    REGISTRY.secret(secret, "webhook secret")
    assert "Every type" in answer.text()
    answer = page.request.post(f"{base}/webhooks", form={"url": "http://127.0.0.1:9/x"})
    assert answer.status == 403  # no CSRF token
    page.goto(f"{base}/webhooks")
    assert page.locator("tbody a").count() == before + 1
    endpoint = page.locator("tbody a").last.get_attribute("href")
    assert endpoint is not None
    for form, named in (
        ({"event": "not-an-id"}, "not an event id"),
        ({"event": str(uuid.uuid4())}, "There is no event"),
        ({"start": "yesterday", "end": "2026-01-01T00:00"}, "date and time"),
        ({"start": "2026-02-01T00:00", "end": "2026-01-01T00:00"}, "end must come after start"),
        ({}, "Replay one event"),
    ):
        answer = page.request.post(
            f"{server.base_url}{endpoint}/replay", form={"csrf": csrf, **form}
        )
        assert answer.status in (400, 404), (form, answer.text())
        assert named in answer.text(), form
    assert page.goto(f"{base}/webhooks/not-a-guid").status == 404
    assert page.goto(f"{base}/webhooks/{uuid.uuid4()}").status == 404
    for query, named in (("after=-1", "sequence number"), ("type=nope", "Unknown event type")):
        answer = page.goto(f"{base}/activity?{query}")
        assert answer.status == 400
        assert named in page.inner_text("main")
    context.close()


def test_a_reader_sees_webhooks_and_activity_and_every_post_is_refused(
    server: Server, sink: SmtpSink, chromium: Any, receiver: Receiver
) -> None:
    made = json.loads(
        server.cli(
            "webhook", "add", "--tenant", DEMO_TENANT, "--url", receiver.url, "--json"
        ).stdout
    )
    REGISTRY.secret(made["secret"], "webhook secret")
    endpoint_id = made["id"]
    Caller.demo(server).invite({"invitedUserEmailAddress": _address("r", "northwind.example")})
    reader = _address("reader")
    member(server, reader, "Riley Reader", "Reader")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, reader, path="webhooks")
    assert page.get_by_role("link", name=receiver.url).count() == 1
    assert page.get_by_role("button", name="Add endpoint").count() == 0
    assert serious_violations(page) == []
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/webhooks/{endpoint_id}")
    assert page.get_by_role("button").all_inner_texts() == ["Sign out"]
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/activity")
    assert page.locator("tbody tr", has_text="invitation.created").count() >= 1
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    base = f"{server.base_url}/admin/{DEMO_TENANT}/webhooks"
    for path, form in (
        ("", {"url": receiver.url}),
        (f"/{endpoint_id}/disable", {}),
        (f"/{endpoint_id}/enable", {}),
        (f"/{endpoint_id}/rotate", {}),
        (f"/{endpoint_id}/remove", {"confirmed": "yes"}),
        (f"/{endpoint_id}/replay", {"start": "2026-01-01T00:00", "end": "2036-01-01T00:00"}),
    ):
        refused = page.request.post(f"{base}{path}", form={"csrf": csrf, **form})
        assert refused.status == 403, (path, refused.text())
        assert "not change them" in refused.text()
    listed = json.loads(server.cli("webhook", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    (kept,) = [e for e in listed if e["id"] == endpoint_id]
    assert kept["enabled"] is True
    assert kept["rotated_at"] is None
    changes = [e["action"] for e in _audit(server) if e["target"] == endpoint_id]
    assert changes == ["webhook.add"]  # the CLI's, and nothing of the reader's
    context.close()

    for role in ("Guest inviter", "Sponsor"):
        other = _address(role.split()[0].lower())
        member(server, other, "Other Person", role)
        context = chromium.new_context()
        page = context.new_page()
        sign_in(page, server, sink, other)
        assert page.get_by_role("link", name="Webhooks").count() == 0
        assert page.get_by_role("link", name="Activity").count() == 0
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        for path in ("webhooks", f"webhooks/{endpoint_id}", "activity"):
            answer = page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/{path}")
            assert answer.status == 403, path
            assert "administrators and readers" in page.inner_text("main")
        refused = page.request.post(f"{base}/{endpoint_id}/disable", form={"csrf": csrf})
        assert refused.status == 403
        context.close()
