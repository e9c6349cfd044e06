"""The console over https, and hostile text in its pages, in Chromium on SQLite and PostgreSQL.

Over https the console cookie is `__Host-gg_console`: Secure, HttpOnly, SameSite=Lax, Path=/,
no Domain. Markup in a guest's name, in filter values and in the address bar is shown as
text: no script runs, no element gains an event attribute.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
HANDLERS = (
    "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
    ".filter(a => a.name.startsWith('on')).length"
)
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}"]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"console-tls-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(
        workdir=workdir, database_url=url, tls=True, extra_env={"GUESTGATE_SMTP_URL": sink.url}
    )
    server.start()
    yield server
    server.stop()


def test_over_https_the_session_cookie_is_host_prefixed_and_secure(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = f"tls.{uuid.uuid4().hex[:8]}@contoso.example"
    member(server, admin, "Tess Tls", "Global administrator")
    context = chromium.new_context(ignore_https_errors=True)  # the dev certificate
    page = context.new_page()
    sign_in(page, server, sink, admin)
    assert page.inner_text("h1") == "Guests"
    cookies = {c["name"]: c for c in context.cookies()}
    assert "gg_console" not in cookies
    session = cookies["__Host-gg_console"]
    assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Lax")
    assert session["path"] == "/"
    assert session["domain"] == "127.0.0.1"  # host-only: no Domain attribute
    assert len(session["value"]) >= 43  # 256 bits, base64url
    assert "__Host-gg_console_login" not in cookies  # the sign-in's own cookie is cleared
    context.close()


def test_markup_in_names_filters_and_paths_is_shown_as_text(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    admin = f"xss.{uuid.uuid4().hex[:8]}@contoso.example"
    member(server, admin, "Xena Xss", "Global administrator")
    caller = Caller.demo(server)
    ids = []
    for n, name in enumerate(HOSTILE):
        answer = caller.invite(
            {
                "invitedUserEmailAddress": f"x{n}.{uuid.uuid4().hex[:6]}@evil.example",
                "invitedUserDisplayName": name,
            }
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["invitedUser"]["id"])
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, server, sink, admin)
    base = f"{server.base_url}/admin/{DEMO_TENANT}"

    def inert(url: str) -> None:
        page.goto(url)
        assert page.evaluate(HANDLERS) == 0, url

    inert(f"{base}/guests?domain=evil.example&sort=name")
    shown = page.locator("tbody td:first-child a").all_inner_texts()  # beside a checkbox
    assert sorted(shown) == sorted(HOSTILE)
    for user_id, name in zip(ids, HOSTILE, strict=True):
        inert(f"{base}/guests/{user_id}")
        assert page.inner_text("h1") == name
    for value in HOSTILE:
        inert(f"{base}/guests?q={quote(value)}&requester={quote(value)}")
        assert page.get_by_label("Search").input_value() == value
    inert(f"{server.base_url}/admin/{quote(HOSTILE[1], safe='')}/guests")
    assert "onerror" in page.inner_text("main")  # shown as text in the 404 page
    assert dialogs == []
    context.close()


def test_at_375_px_wide_the_pages_fit_and_pass_axe(
    server: Server, sink: SmtpSink, chromium: Any
) -> None:
    from tests.e2e.test_pages_and_mails import serious_violations

    admin = f"narrow.{uuid.uuid4().hex[:8]}@contoso.example"
    member(server, admin, "Nia Narrow", "Global administrator")
    answer = Caller.demo(server).invite(
        {"invitedUserEmailAddress": f"wide.{uuid.uuid4().hex[:6]}@fabrikam.example"}
    )
    assert answer.status_code == 201, answer.text
    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 375, "height": 700})
    page = context.new_page()
    sign_in(page, server, sink, admin)
    base = f"{server.base_url}/admin/{DEMO_TENANT}"
    violations: list[str] = []
    for path in ("guests", f"guests/{answer.json()['invitedUser']['id']}", "invite"):
        page.goto(f"{base}/{path}")
        violations += serious_violations(page)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, (path, width)  # wide tables scroll inside their own region
    assert violations == []
    context.close()
