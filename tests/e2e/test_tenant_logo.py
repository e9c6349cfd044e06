"""The tenant's logo on the pages, from guestgate's own origin, on SQLite and PostgreSQL.

The admin gives guestgate the image (`guestgate tenant set --logo FILE`, or the console's
Tenant page); guestgate serves it at /branding/{tenant}/logo with its type, nosniff, a strong
ETag and cache headers, and the redemption, consent, welcome, invalid-link and sign-in pages
show it (alt text: the organisation's name) where they showed the initials. Chromium checks
the image loads and that nothing on any page comes from another origin; axe-core checks each
page. Bad files (SVG, HTML named .png, too large, missing) are refused naming the problem,
and nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.console_browser import member, sign_in
from tests.e2e.server import Caller, Server
from tests.e2e.signin import DEMO_TENANT, new_app
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_browser import CHROMIUM
from tests.e2e.test_pages_and_mails import redeem_link, serious_violations, to_consent

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
]
ADMIN = "ula.logoadmin@contoso.example"
ORG = "Contoso"


def png(width: int = 48, height: int = 48, rgb: tuple[int, int, int] = (92, 46, 145)) -> bytes:
    """A solid-colour PNG, encoded here so the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"logo-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    running = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    running.start()
    member(running, ADMIN, "Ula Logoadmin", "Global administrator")
    yield running
    running.stop()


def set_logo(server: Server, path: Path) -> Any:
    return server.cli("tenant", "set", DEMO_TENANT, "--logo", str(path), "--json", check=False)


def served(server: Server, tenant_id: str, **headers: str) -> Any:
    with server.client() as client:
        return client.get(f"/branding/{tenant_id}/logo", headers=headers)


def test_the_cli_stores_the_logo_and_guestgate_serves_it(server: Server, tmp_path: Path) -> None:
    image = png()
    file = tmp_path / "logo.png"
    file.write_bytes(image)
    done = set_logo(server, file)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    tenant_id = shown["TenantID"]
    assert shown["logo"] == f"{server.base_url}/branding/{tenant_id}/logo"

    answer = served(server, tenant_id)
    assert answer.status_code == 200
    assert answer.content == image
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["etag"] == f'"{hashlib.sha256(image).hexdigest()}"'
    assert answer.headers["cache-control"] == "public, max-age=86400"
    assert "sandbox" in answer.headers["content-security-policy"]
    again = served(server, tenant_id, **{"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert served(server, tenant_id, **{"If-None-Match": '"other"'}).status_code == 200
    assert served(server, str(uuid.uuid4())).status_code == 404
    assert served(server, "not-a-tenant").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "code", "said"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
            "InvalidLogo",
            "SVG is not accepted",
        ),
        ("page.png", b"<html><script>alert(1)</script></html>", "InvalidLogo", "PNG, JPEG"),
        ("huge.png", png()[:8] + b"\0" * (256 * 1024), "LogoTooLarge", "256 KiB"),
        ("empty.png", b"", "InvalidLogo", "empty"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem_and_nothing_changes(
    server: Server, tmp_path: Path, name: str, content: bytes, code: str, said: str
) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(png(rgb=(0, 120, 212)))
    tenant_id = json.loads(set_logo(server, good).stdout)["TenantID"]
    before = served(server, tenant_id).content
    bad = tmp_path / name
    bad.write_bytes(content)
    refused = set_logo(server, bad)
    assert refused.returncode != 0
    assert code in refused.stderr + refused.stdout
    assert said in refused.stderr + refused.stdout
    assert served(server, tenant_id).content == before


def test_a_missing_file_is_named(server: Server, tmp_path: Path) -> None:
    refused = set_logo(server, tmp_path / "nowhere.png")
    assert refused.returncode != 0
    assert "LogoUnreadable" in refused.stderr + refused.stdout
    assert "nowhere.png" in refused.stderr + refused.stdout


def _same_origin_only(page: Any, server: Server) -> list[str]:
    """Every request the page makes, as URLs; the test keeps them."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def _logo_shown(page: Any, server: Server) -> None:
    logo = page.locator("p.org img.logo")
    assert logo.count() == 1, page.content()
    assert logo.get_attribute("alt") == ORG
    src = logo.get_attribute("src")
    assert src is not None
    assert src.startswith("/branding/")
    loaded = page.evaluate(
        "() => { const i = document.querySelector('p.org img.logo');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert loaded, "the logo image did not load"
    assert page.locator("p.org .badge").count() == 0


def test_the_pages_show_the_logo_from_the_same_origin(
    server: Server, sink: SmtpSink, chromium: Any, tmp_path: Path
) -> None:
    file = tmp_path / "logo.png"
    file.write_bytes(png())
    assert set_logo(server, file).returncode == 0
    caller = Caller.demo(server)
    email = f"logo.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = caller.invite({"invitedUserEmailAddress": email, "sendInvitationMessage": True})
    assert answer.status_code == 201, answer.text
    link = redeem_link(sink.wait_for(to=email, subject_contains="invited you")[-1])
    tenant_id = answer.json()["inviteRedeemUrl"].split("tenant=")[1].split("&")[0]

    context = chromium.new_context()
    page = context.new_page()
    seen = _same_origin_only(page, server)
    violations: list[str] = []
    page.goto(link)
    _logo_shown(page, server)  # the invitation's landing page
    violations += serious_violations(page)
    to_consent(page, sink, email, link)
    _logo_shown(page, server)  # consent
    violations += serious_violations(page)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/welcome\?tenant="))
    _logo_shown(page, server)
    violations += serious_violations(page)
    # A link of the organisation that is not valid (its ticket altered): the invalid-link page
    # is the same for every dead link, so it names no organisation and shows no logo.
    page.goto(re.sub(r"ticket=[\w-]+", "ticket=" + "x" * 43, link))
    assert page.inner_text("h1") == "This invitation link is not valid"
    assert page.locator("img").count() == 0
    violations += serious_violations(page)

    made = new_app(server, "http://localhost:8400/callback")
    page.goto(
        f"{server.base_url}/{tenant_id}/oauth2/v2.0/authorize?client_id={made['AppID']}"
        "&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A8400%2Fcallback"
        "&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        "&code_challenge_method=S256"
    )
    assert page.inner_text("h1") == "Sign in"
    _logo_shown(page, server)
    violations += serious_violations(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url(re.compile(r"/signin/code$"))
    _logo_shown(page, server)
    violations += serious_violations(page)
    context.close()

    origin = urlsplit(server.base_url).netloc
    assert [u for u in seen if urlsplit(u).netloc != origin] == []
    assert any("/branding/" in u for u in seen)
    assert violations == []

    # Without a logo the pages show the initials again.
    assert server.cli("tenant", "set", DEMO_TENANT, "--no-logo").returncode == 0
    assert served(server, tenant_id).status_code == 404
    page = chromium.new_page()
    page.goto(f"{server.base_url}/welcome?tenant={tenant_id}")
    assert page.locator("p.org img").count() == 0
    assert page.inner_text("p.org .badge") == "C"
    page.close()


def test_an_admin_uploads_and_removes_the_logo_on_the_tenant_page(
    server: Server, sink: SmtpSink, chromium: Any, tmp_path: Path
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, server, sink, ADMIN, "tenant")
    svg = tmp_path / "logo.svg"
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>')
    page.get_by_label("Image file").set_input_files(str(svg))
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Upload logo").click()
    assert refused.value is not None
    assert refused.value.status == 400
    assert "SVG is not accepted" in page.inner_text("#logo-file-error")
    assert page.get_by_label("Image file").get_attribute("aria-invalid") == "true"
    assert serious_violations(page) == []

    image = png(rgb=(16, 124, 16))
    file = tmp_path / "logo.png"
    file.write_bytes(image)
    page.get_by_label("Image file").set_input_files(str(file))
    page.get_by_role("button", name="Upload logo").click()
    page.wait_for_url(re.compile(r"/tenant\?done=logo-saved$"))
    assert "The logo was saved" in page.inner_text("[role=status]")
    preview = page.get_by_role("img", name=f"The current logo of {ORG}")
    assert preview.count() == 1
    tenant_id = preview.get_attribute("src").split("/")[2]  # type: ignore[union-attr]
    assert served(server, tenant_id).content == image
    assert serious_violations(page) == []
    audit = json.loads(server.cli("audit", "list", "--tenant", DEMO_TENANT, "--json").stdout)
    uploads = [e for e in audit if e["action"] == "tenant.update" and e["actor"] == ADMIN]
    assert uploads
    assert uploads[0]["details"]["logo"] == "image/png"

    with page.expect_navigation():  # a form another site might post: no CSRF token
        page.evaluate(
            """() => { const f = document.createElement("form"); f.method = "post";
            f.enctype = "multipart/form-data"; f.action = location.pathname + "/logo";
            const r = document.createElement("input"); r.name = "remove"; r.value = "yes";
            f.append(r); document.body.append(f); f.submit(); }"""
        )
    assert page.inner_text("h1") == "This request was refused"
    assert served(server, tenant_id).content == image

    page.goto(f"{server.base_url}/admin/{DEMO_TENANT}/tenant")
    page.get_by_role("button", name="Remove logo").click()
    page.wait_for_url(re.compile(r"/tenant\?done=logo-removed$"))
    assert served(server, tenant_id).status_code == 404
    assert page.get_by_role("img", name=f"The current logo of {ORG}").count() == 0
    context.close()
