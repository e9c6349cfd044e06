"""The console's Apps pages in Chromium, on SQLite and PostgreSQL.

An administrator opens an app registration, adds and removes a redirect URI (a bad one is
a 400 naming it, nothing stored), adds a client secret: its value is shown once, gets a
token at the token endpoint, and is gone on a reload; removes it after a confirmation.
When the session's sign-in is older than 10 minutes, adding a secret asks for a sign-in
again and then completes from the confirmation. A Reader sees apps and secrets' hints and
every post is refused; other roles get 403. axe-core checks every page; the leak scan
looks for every secret in the logs and the database.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Server
from tests.e2e.signin import DEMO_TENANT, latest_code
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import serious_violations
from tests.leaks import REGISTRY

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
APPS = f"/admin/{DEMO_TENANT}/apps"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-apps-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    server.start()
    yield server
    server.stop()


def _address(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}@contoso.example"


def _app(server: Server, name: str) -> dict[str, str]:
    created = server.create_app(DEMO_TENANT, name, "User.Read.All")
    REGISTRY.secret(created["AppSecret"], "client secret")
    return created


def _token(server: Server, app_id: str, secret: str) -> int:
    with server.client() as client:
        answer = client.post(
            f"/{DEMO_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app_id,
                "client_secret": secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    if answer.status_code == 200:
        REGISTRY.secret(answer.json()["access_token"], "access token")
    return answer.status_code


def _sql(server: Server, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    url = server.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return list(db.execute(sql, params).fetchall())
    with psycopg.connect(url) as pg:
        cursor = pg.execute(sql.replace("?", "%s").encode(), params)
        return list(cursor.fetchall()) if cursor.description else []


def _secrets(server: Server, app_id: str) -> int:
    [(n,)] = _sql(server, "SELECT count(*) FROM client_secrets WHERE app_id = ?", (app_id,))
    return int(n)


def _age_sign_in(server: Server, email: str, minutes: int) -> None:
    """Move the person's console sign-in back in time, as if made `minutes` ago."""
    then = (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _sql(
        server,
        "UPDATE console_sessions SET signed_in_at = ? WHERE ended_at IS NULL AND user_id IN"
        " (SELECT id FROM users WHERE email_key = ?)",
        (then, email.lower()),
    )


def _audit(server: Server) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout
    )
    return found


def _add_secret(page: Any, name: str, lifetime: str = "90 days") -> None:
    page.get_by_label("Description").fill(name)
    page.get_by_label("Expires after").select_option(label=lifetime)
    page.get_by_role("button", name="Add secret").click()


def test_an_admin_adds_a_secret_that_is_shown_once_and_gets_a_token(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    name = f"Payroll sync {uuid.uuid4().hex[:6]}"
    created = _app(server, name)
    app_id = created["AppID"]
    admin = _address("admin")
    member(server, admin, "Avery Admin", "Global administrator")
    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, admin, path="apps")
    assert page.inner_text("h1") == "Apps"
    violations += serious_violations(page)
    page.get_by_role("link", name=name).click()
    detail = page.url
    assert detail.endswith(f"/apps/{app_id}")
    assert "User.Read.All" in page.inner_text("#permissions + ul")
    assert "Confidential client" in page.inner_text("dl.props")
    violations += serious_violations(page)

    # A bad redirect URI is a 400 naming the rule; nothing is stored.
    page.get_by_label("Add a redirect URI").fill("http://app.contoso.example/cb")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add redirect URI").click()
    assert answer.value.status == 400
    assert "redirect URIs use https" in page.inner_text("p.error")
    violations += serious_violations(page)
    [(uris,)] = _sql(server, "SELECT redirect_uris FROM apps WHERE id = ?", (app_id,))
    assert "app.contoso.example" not in str(uris)
    page.get_by_label("Add a redirect URI").fill("https://app.contoso.example/cb")
    page.get_by_role("button", name="Add redirect URI").click()
    assert "The redirect URI was added." in page.inner_text("main")
    assert "https://app.contoso.example/cb" in page.inner_text("#redirects + div")
    page.get_by_role("button", name="Remove https://app.contoso.example/cb").click()
    assert "The redirect URI was removed." in page.inner_text("main")
    assert "https://app.contoso.example/cb" not in page.inner_text("#redirects + div")

    # A bad description or lifetime is a 400; nothing is stored.
    before = _secrets(server, app_id)
    csrf = page.locator('input[name="csrf"]').first.input_value()
    for form, named in (
        ({"name": "", "lifetime": "90d"}, "description"),
        ({"name": "x" * 121, "lifetime": "90d"}, "1-120"),
        ({"name": "ok", "lifetime": "10y"}, "Choose how long"),
    ):
        bad = context.request.post(f"{detail}/secrets", form={"csrf": csrf, **form})
        assert bad.status == 400, form
        assert named in bad.text(), form
    assert _secrets(server, app_id) == before

    _add_secret(page, "rotation 2026")
    assert re.search(r"/secrets/[0-9a-f-]{36}/created$", page.url)
    created_page = page.url
    value = page.get_by_label("Client secret value").input_value()
    REGISTRY.secret(value, "client secret")
    assert value.startswith("gg_")
    assert "shown only on this page" in page.inner_text("div.secret")
    violations += serious_violations(page)
    assert _secrets(server, app_id) == before + 1
    assert _token(server, app_id, value) == 200  # the new secret works at once

    page.reload()
    assert page.url == created_page
    assert value not in page.content()
    assert "cannot be shown again" in page.inner_text("main")
    page.goto(detail)
    assert value not in page.content()
    row = page.locator("tbody tr", has_text="rotation 2026")
    assert f"gg_{value[3:6]}…" in row.inner_text()

    # Removing asks first, then the secret stops working.
    row.get_by_role("button", name=re.compile("^Remove secret rotation 2026")).click()
    assert "No new token is issued with it" in page.inner_text("div.confirm")
    violations += serious_violations(page)
    page.get_by_role("button", name="Yes, remove the secret").click()
    assert "The secret was removed" in page.inner_text("main")
    assert _secrets(server, app_id) == before
    assert _token(server, app_id, value) in (400, 401)
    assert _token(server, app_id, created["AppSecret"]) == 200

    mine = [e for e in _audit(server) if e.get("target") == app_id]
    actions = {e["action"]: e.get("actor") for e in mine}
    for action in ("app.update", "app.secret.add", "app.secret.remove"):
        assert actions.get(action) == admin, (action, mine)
    context.close()
    assert violations == []


def test_an_old_sign_in_asks_again_and_the_secret_is_added_after_it(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    created = _app(server, f"Reporting {uuid.uuid4().hex[:6]}")
    app_id = created["AppID"]
    admin = _address("fresh")
    member(server, admin, "Fran Fresh", "User administrator")
    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    sign_in(page, server, sink, admin, path=f"apps/{app_id}")
    before = _secrets(server, app_id)
    _age_sign_in(server, admin, minutes=11)

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        _add_secret(page, "nightly export", "1 year")
    assert answer.value.status == 403
    assert page.inner_text("h1") == "Sign in again to continue"
    assert "within the last 10 minutes" in page.inner_text("main")
    violations += serious_violations(page)
    assert _secrets(server, app_id) == before  # nothing was done

    codes = len(sink.messages(to=admin, subject_contains="verification code"))
    page.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Email address").fill(admin)  # prompt=login: a code, not the session
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/signin/code$"))
    page.get_by_label("Code").fill(latest_code(sink, admin, codes + 1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/secrets/new\?"))
    confirm = page.inner_text("div.confirm")
    assert "nightly export" in confirm
    assert "1 year" in confirm
    violations += serious_violations(page)
    assert _secrets(server, app_id) == before

    page.get_by_role("button", name="Yes, add the secret").click()
    value = page.get_by_label("Client secret value").input_value()
    REGISTRY.secret(value, "client secret")
    assert _secrets(server, app_id) == before + 1
    assert _token(server, app_id, value) == 200
    [(expires,)] = _sql(
        server,
        "SELECT expires_at FROM client_secrets WHERE app_id = ? AND display_name = ?",
        (app_id, "nightly export"),
    )
    assert str(expires)[:4] == str(datetime.now(UTC).year + 1)
    context.close()
    assert violations == []


def test_a_reader_sees_apps_and_hints_and_every_post_is_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    created = _app(server, f"Read only {uuid.uuid4().hex[:6]}")
    app_id = created["AppID"]
    reader = _address("reader")
    member(server, reader, "Rae Reader", "Reader")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, reader, path=f"apps/{app_id}")
    assert "User.Read.All" in page.inner_text("main")
    assert f"gg_{created['AppSecret'][3:6]}…" in page.inner_text("main")
    assert created["AppSecret"] not in page.content()
    assert page.get_by_role("button", name="Add secret").count() == 0
    assert page.get_by_role("button", name=re.compile("^Remove")).count() == 0
    assert serious_violations(page) == []
    csrf = page.locator('input[name="csrf"]').first.input_value()
    [(secret_id,)] = _sql(server, "SELECT id FROM client_secrets WHERE app_id = ?", (app_id,))
    base = f"{server.base_url}{APPS}/{app_id}"
    for path, form in (
        ("/redirect-uris", {"uri": "https://x.contoso.example/cb"}),
        ("/redirect-uris/remove", {"uri": "https://x.contoso.example/cb"}),
        ("/secrets", {"name": "mine", "lifetime": "90d"}),
        (f"/secrets/{secret_id}/remove", {"confirmed": "yes"}),
    ):
        refused = context.request.post(base + path, form={"csrf": csrf, **form}, max_redirects=0)
        assert refused.status == 403, path
    assert _secrets(server, app_id) == 1
    context.close()

    inviter = _address("inviter")
    member(server, inviter, "Ivy Inviter", "Guest inviter")
    context = chromium.new_context()
    page = context.new_page()
    answer = sign_in(page, server, sink, inviter, path="apps")
    assert answer.status == 403
    assert page.get_by_role("link", name="Apps").count() == 0
    assert serious_violations(page) == []
    context.close()


def test_a_post_without_the_console_csrf_token_is_refused(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    created = _app(server, f"Csrf {uuid.uuid4().hex[:6]}")
    admin = _address("csrf")
    member(server, admin, "Cass Csrf", "Global administrator")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, admin, path="apps")
    refused = context.request.post(
        f"{server.base_url}{APPS}/{created['AppID']}/secrets",
        form={"name": "no token", "lifetime": "90d"},
    )
    assert refused.status == 403
    assert _secrets(server, created["AppID"]) == 1
    missing = page.goto(f"{server.base_url}{APPS}/not-an-app")
    assert missing is not None
    assert missing.status == 404
    context.close()
