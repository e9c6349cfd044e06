"""The Microsoft 365 console's Bulk invite pages in Chromium, on SQLite and PostgreSQL,
axe-core on each page state.

A local-mode guestgate over https stands in for Entra and Graph (test_console_graph_mode.py);
a graph-mode guestgate's console signs in against it. An administrator uploads Entra's
bulk-invite template with a bad row: the job's page follows it to Done (its script reloads
it), the worker having invited the good rows in the stand-in through Graph; the results
file is the API's byte for byte. A large job is cancelled mid-way without JavaScript. A
Global Reader sees the jobs, and its upload and cancel are refused with 403, as is the
results file (it holds redeem links).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_console_bulk import HEADINGS, _counts, _state_is, _wait_for
from tests.e2e.test_console_graph_mode import (
    ADMIN,
    READER,
    _api_token,
    _audit,
    _sign_in,
    microsoft,  # noqa: F401 (the stand-in Entra and Graph, a fixture)
    module_broker,
)
from tests.e2e.test_pages_and_mails import serious_violations

pytestmark = pytest.mark.e2e
APP = "https://myapplications.microsoft.com"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def broker(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    microsoft: Server,  # noqa: F811
) -> Iterator[tuple[Server, dict[str, str]]]:
    server, own = module_broker(request, tmp_path_factory, microsoft, "bulk")
    yield server, own
    server.stop()


def _upload(page: Any, base: str, data: bytes) -> str:
    """Upload `data` on the Bulk invite page; the new job's id."""
    page.goto(f"{base}/bulk")
    page.get_by_label("CSV file").set_input_files(
        {"name": "guests.csv", "mimeType": "text/csv", "buffer": data}
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    found = re.search(r"/bulk/([0-9a-f-]{36})", page.url)
    assert found is not None, page.url
    return found.group(1)


def _in_graph(stand_in: Server, own: dict[str, str], email: str) -> bool:
    graph = Caller(stand_in, own["TenantID"], own["AppID"], own["AppSecret"])
    answer = graph.request("GET", "/v1.0/users", params={"$filter": f"mail eq '{email}'"})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["value"])


def test_an_administrator_uploads_follows_and_downloads_a_job(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    base = f"{server.base_url}/admin/{own['TenantID']}"
    tag = uuid.uuid4().hex[:8]
    guests = [f"bulk{n}.{tag}@fabrikam.example" for n in range(3)]
    rows = [f"{guests[0]},{APP},FALSE,Welcome", f"not-an-address,{APP},FALSE,Welcome"]
    rows += [f"{g},{APP},FALSE,Welcome" for g in guests[1:]]
    data = ("version:v1.0\n" + HEADINGS + "\n" + "".join(r + "\n" for r in rows)).encode()
    context = chromium.new_context(ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    violations: list[str] = []
    try:
        assert _sign_in(page, sink, f"{base}/guests", ADMIN).status == 200
        page.get_by_role("link", name="Bulk invite").click()
        assert page.inner_text("h1") == "Bulk invite"
        link = page.get_by_role("link", name="Bulk invite")
        assert link.get_attribute("aria-current") == "page"
        violations += serious_violations(page)
        job_id = _upload(page, base, data)
        assert page.inner_text("h1") == "Bulk job"
        violations += serious_violations(page)
        _wait_for(_state_is(page, "Done"))  # the script reloads the page
        page.wait_for_load_state()
        counts = _counts(page)
        assert (counts["Invited"], counts["Failed"], counts["Total"]) == ("3", "1", "4")
        violations += serious_violations(page)
        assert all(_in_graph(microsoft, own, g) for g in guests)
        with page.expect_download() as got:
            page.get_by_role("link", name="Download the results (CSV)").click()
        downloaded = Path(got.value.path()).read_bytes()
        with server.client() as client:
            api = client.get(
                f"/api/bulk/invitations/{job_id}/results",
                headers={"Authorization": f"Bearer {_api_token(microsoft, own)}"},
            )
        assert api.status_code == 200, api.text
        assert downloaded == api.content
        found = list(csv.reader(io.StringIO(downloaded.decode("utf-8-sig"))))
        assert [r[4] for r in found[1:]] == ["Success", "Failure", "Success", "Success"]
        assert all(r[8].startswith(microsoft.base_url) for r in found[1:] if r[4] == "Success")
        page.get_by_role("link", name="Bulk invite").first.click()
        listed = page.locator("tbody tr", has=page.locator(f'a[href$="/bulk/{job_id}"]'))
        assert listed.locator("td").all_inner_texts()[1:4] == [ADMIN, "Done", "4"]
        # A file that is not CSV: the page says why, and no job is stored.
        page.get_by_label("CSV file").set_input_files(
            {"name": "x.csv", "mimeType": "text/csv", "buffer": b"\x00\x01"}
        )
        page.get_by_role("button", name="Upload").click()
        assert page.locator("p.error").count() == 1
        violations += serious_violations(page)
    finally:
        context.close()
    assert violations == []
    assert (ADMIN, "bulk.create", job_id) in _audit(server)


def test_a_large_job_is_cancelled_without_javascript(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    base = f"{server.base_url}/admin/{own['TenantID']}"
    tag = uuid.uuid4().hex[:8]
    total = 400
    lines = [f"c{n}.{tag}@northwind.example,false" for n in range(total)]
    data = ("invitedUserEmailAddress,sendInvitationMessage\n" + "\n".join(lines) + "\n").encode()
    context = chromium.new_context(ignore_https_errors=True, java_script_enabled=False)
    page = context.new_page()
    try:
        assert _sign_in(page, sink, f"{base}/guests", ADMIN).status == 200
        job_id = _upload(page, base, data)
        with page.expect_navigation():
            page.get_by_role("button", name="Cancel the job").click()
        assert "The job was cancelled" in page.inner_text("main")
        assert page.locator("#state").inner_text() == "Cancelled"
        counts = _counts(page)
        assert int(counts["Remaining"]) > 0
    finally:
        context.close()
    actions = sorted(a for actor, a, target in _audit(server) if target == job_id)
    assert actions == ["bulk.cancel", "bulk.create"]


def test_a_reader_sees_the_jobs_and_its_posts_are_refused(
    microsoft: Server,  # noqa: F811
    broker: tuple[Server, dict[str, str]],
    sink: SmtpSink,
    chromium: Any,
) -> None:
    server, own = broker
    base = f"{server.base_url}/admin/{own['TenantID']}"
    email = f"r.{uuid.uuid4().hex[:8]}@fabrikam.example"
    with server.client() as client:
        made = client.post(
            "/api/bulk/invitations",
            content=f"invitedUserEmailAddress\n{email}\n".encode(),
            headers={
                "Authorization": f"Bearer {_api_token(microsoft, own)}",
                "Content-Type": "text/csv",
            },
        )
    assert made.status_code == 202, made.text
    job_id = made.json()["id"]
    context = chromium.new_context(ignore_https_errors=True)
    page = context.new_page()
    try:
        assert _sign_in(page, sink, f"{base}/bulk", READER).status == 200
        assert page.inner_text("h1") == "Bulk invite"
        assert page.get_by_role("button", name="Upload").count() == 0
        assert serious_violations(page) == []
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        answer = page.goto(f"{base}/bulk/{job_id}")
        assert answer is not None
        assert answer.status == 200
        assert page.get_by_role("link", name="Download the results (CSV)").count() == 0
        assert serious_violations(page) == []
        upload = page.request.post(
            f"{base}/bulk",
            multipart={
                "csrf": csrf,
                "file": {"name": "g.csv", "mimeType": "text/csv", "buffer": b"x@y.example\n"},
            },
        )
        assert upload.status == 403, upload.text()
        cancel = page.request.post(f"{base}/bulk/{job_id}/cancel", form={"csrf": csrf})
        assert cancel.status == 403, cancel.text()
        results = page.request.get(f"{base}/bulk/{job_id}/results")
        assert results.status == 403
    finally:
        context.close()
    assert not [a for actor, a, target in _audit(server) if actor == READER and "bulk" in a]
