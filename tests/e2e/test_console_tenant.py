"""The console's Tenant page in Chromium, on SQLite and PostgreSQL.

An administrator sees the tenant's name, id and domains and changes its logo, privacy
statement, landing page and invitation lifetime with one form; the change is what
`guestgate tenant set` shows and is audited with the administrator as actor. Bad values are
the form again (400), each named beside its field, nothing stored. A Reader sees the
settings read-only and its post is refused (403); a post without the page's CSRF token is
refused; a Sponsor gets 403. axe-core checks each page; it works at 375 px and by keyboard.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import serious_violations

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
ADMIN = "uma.useradmin@contoso.example"
READER = "rene.reader@contoso.example"
SPONSOR = "sam.sponsor@contoso.example"
LOGO = "https://cdn.contoso.example/logo.png"
PRIVACY = "https://contoso.example/privacy"
LANDING = "https://myapps.contoso.example/"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-tenant-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    running = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    running.start()
    member(running, ADMIN, "Uma Useradmin", "User administrator")
    member(running, READER, "Rene Reader", "Reader")
    member(running, SPONSOR, "Sam Sponsor", "Sponsor")
    yield running
    running.stop()


def _stored(server: Server) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(server.cli("tenant", "set", DEMO_TENANT, "--json").stdout)
    return found


def _updates(server: Server) -> list[dict[str, Any]]:
    found = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    # `tenant set` without a flag (how _stored reads the settings) is audited with no actor.
    return [e for e in found if e["action"] == "tenant.update" and e["actor"]]


def _fill(page: Any, **values: str) -> None:
    labels = {
        "logo": "Logo URL",
        "privacy": "Privacy statement URL",
        "landing": "Landing page",
        "lifetime": "Invitation lifetime (days)",
    }
    for name, value in values.items():
        page.get_by_label(labels[name]).fill(value)


def test_an_administrator_changes_the_settings(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="tenant")
    assert page.inner_text("h1") == "Tenant"
    assert page.get_by_role("link", name="Tenant", exact=True).get_attribute("aria-current") == (
        "page"
    )
    (tenant,) = [
        t
        for t in json.loads(server.cli("tenant", "list", "--json").stdout)
        if DEMO_TENANT in t["domains"]
    ]
    about = page.inner_text("dl.props")
    assert tenant["name"] in about
    assert tenant["TenantID"] in about
    assert DEMO_TENANT in page.get_by_role("list", name="Domains").inner_text()
    assert "(primary)" in page.get_by_role("list", name="Domains").inner_text()
    assert page.get_by_label("Invitation lifetime (days)").input_value() == "30"
    assert serious_violations(page) == []
    before = len(_updates(server))

    _fill(page, logo=LOGO, privacy=PRIVACY, landing=LANDING, lifetime="14")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/tenant?done=saved")
    assert page.get_by_role("status").inner_text() == "The settings were saved."
    assert page.get_by_label("Logo URL").input_value() == LOGO
    assert serious_violations(page) == []
    stored = _stored(server)
    assert (stored["logoUrl"], stored["privacyUrl"], stored["landingUrl"]) == (
        LOGO,
        PRIVACY,
        LANDING,
    )
    assert stored["invitationLifetimeDays"] == 14
    updates = _updates(server)
    assert len(updates) == before + 1
    assert updates[0]["actor"] == ADMIN
    assert updates[0]["details"] == {"invitationLifetimeDays": 14}
    assert updates[0]["request_id"]

    # An empty field clears its setting; 0 days: links that never expire.
    _fill(page, landing="", lifetime="0")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/tenant?done=saved")
    stored = _stored(server)
    assert (stored["landingUrl"], stored["invitationLifetimeDays"]) == (None, 0)
    assert stored["logoUrl"] == LOGO

    # The audit log shows the change with the administrator as actor.
    page.get_by_role("link", name="audit log", exact=True).click()
    rows = page.get_by_role("region", name="Audit events").locator("tbody tr").all()
    cells = [r.locator("td").all_inner_texts() for r in rows]
    assert {c[2] for c in cells} == {"tenant.update"}
    assert sum(c[1].splitlines()[0] == ADMIN for c in cells) == 2  # the two saves
    context.close()


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        (
            {"logo": "http://cdn.evil.example/logo.png", "lifetime": "400"},
            {"logo": "The logo URL must use https", "lifetime": "0-365"},
        ),
        ({"privacy": "javascript:alert(1)"}, {"privacy": "https URL"}),
        ({"landing": "https://exa mple.com/"}, {"landing": "spaces"}),
        ({"lifetime": "ten"}, {"lifetime": "whole number of days"}),
        ({"lifetime": "-1"}, {"lifetime": "whole number of days"}),
    ],
)
def test_bad_values_are_named_on_the_form_and_nothing_is_stored(
    server: Server,
    sink: SmtpSink,
    chromium: Any,
    values: dict[str, str],
    errors: dict[str, str],
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="tenant")
    stored = _stored(server)
    audited = len(_updates(server))
    # The browser's own checks are bypassed, as a script or an old browser would.
    page.evaluate("() => document.querySelector('form.narrow').noValidate = true")
    _fill(page, **values)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save settings").click()
    assert navigation.value.status == 400
    assert "Nothing was saved" in page.get_by_role("alert").inner_text()
    for name, text in errors.items():
        field = page.locator(f"#{name}")
        assert field.get_attribute("aria-invalid") == "true"
        assert text in page.locator(f"#{name}-error").inner_text()
        assert f"{name}-error" in (field.get_attribute("aria-describedby") or "")
        assert field.input_value() == values[name]  # what was typed stays, to correct it
    assert _stored(server) == stored
    assert len(_updates(server)) == audited
    if "logo" in values:
        assert serious_violations(page) == []
    context.close()


def test_a_reader_sees_the_settings_and_its_post_is_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, READER, path="tenant")
    assert answer.status == 200
    assert page.get_by_role("button", name="Save settings").count() == 0
    assert "Global and User administrators change them" in page.inner_text("main")
    assert "Invitation lifetime" in page.inner_text("main")
    assert serious_violations(page) == []
    stored = _stored(server)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = page.request.post(
        f"{server.base_url}/admin/{DEMO_TENANT}/tenant",
        form={"csrf": csrf, "logo": "https://reader.example/x.png", "lifetime": "3"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert "not change them" in refused.text()
    assert _stored(server) == stored
    context.close()


def test_a_post_without_the_pages_token_is_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="tenant")
    stored = _stored(server)
    for form in (
        {"csrf": "nope", "lifetime": "5"},
        {"lifetime": "5"},
    ):
        refused = page.request.post(
            f"{server.base_url}/admin/{DEMO_TENANT}/tenant", form=form, max_redirects=0
        )
        assert refused.status == 403
    assert _stored(server) == stored
    context.close()


def test_a_sponsor_gets_403_and_no_link(server: Server, sink: SmtpSink, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, SPONSOR, path="tenant")
    assert answer.status == 403
    assert "administrators and readers see them" in page.inner_text("main")
    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/guests")
    assert page.get_by_role("link", name="Tenant", exact=True).count() == 0
    context.close()


def test_the_page_works_at_375_pixels_and_by_keyboard(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    context = chromium.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, path="tenant")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached = []
    for _ in range(25):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("() => document.activeElement.id || document.activeElement.innerText")
        )
    for wanted in ("logo", "privacy", "landing", "lifetime", "Save settings"):
        assert wanted in reached
    page.get_by_label("Invitation lifetime (days)").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("21")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert _stored(server)["invitationLifetimeDays"] == 21
    context.close()
