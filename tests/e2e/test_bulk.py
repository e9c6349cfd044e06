"""Bulk invites on a running server and through the CLI, on SQLite and PostgreSQL: upload as
text/csv and multipart, status and results, check-only and bad files storing nothing,
tenant isolation, and a CLI killed mid-job resuming with no guest invited twice."""

from __future__ import annotations

import csv
import io
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from guestgate.domain.apps import INVITE, READ_USERS
from tests.e2e.server import GUESTGATE, Caller, Server

pytestmark = pytest.mark.e2e
HEADINGS = (
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    " Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    " message [customizedMessageBody]"
)
TEMPLATE = (
    "version:v1.0\n"
    + HEADINGS
    + "\n"
    + 'alice@fabrikam.com,https://myapplications.microsoft.com,TRUE,"Welcome to Contoso"\n'
)
CSV = {"Content-Type": "text/csv"}


def database_url(request: pytest.FixtureRequest, workdir: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{workdir}/guestgate.db"
    return str(request.getfixturevalue("postgres_url_factory")())


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("bulk")
    server = Server(workdir=workdir, database_url=database_url(request, workdir)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(server: Server) -> Caller:
    return Caller.new_app(server, "contoso.example", INVITE)


def count(url: str, sql: str) -> int:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return int(db.execute(sql).fetchone()[0])
    with psycopg.connect(url) as pg:
        row = pg.execute(sql.encode()).fetchone()
        assert row is not None
        return int(row[0])


def stored(server: Server) -> tuple[int, int, int]:
    url = server.database_url
    return (
        count(url, "SELECT COUNT(*) FROM bulk_jobs"),
        count(url, "SELECT COUNT(*) FROM bulk_job_rows"),
        count(url, "SELECT COUNT(*) FROM invitations"),
    )


def wait_done(caller: Caller, status_url: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = caller.request("GET", status_url)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] in ("done", "cancelled", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"the job did not finish: {body}")


def test_microsofts_template_uploads_as_text_csv_and_the_results_match_row_for_row(
    server: Server, admin: Caller
) -> None:
    answer = admin.request("POST", "/api/bulk/invitations", content=TEMPLATE, headers=CSV)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == job["statusUrl"]
    assert job["status"] == "queued"
    assert job["totalRequests"] == 1
    done = wait_done(admin, job["statusUrl"].removeprefix(server.base_url))
    assert (done["succeeded"], done["failed"], done["pending"]) == (1, 0, 0)
    results = admin.request("GET", f"/api/bulk/invitations/{job['id']}/results")
    assert results.status_code == 200
    assert results.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(results.text.removeprefix("\ufeff"))))
    source = list(csv.reader(io.StringIO(TEMPLATE)))
    assert rows[0][:4] == source[1]
    assert rows[1][:4] == source[2]
    assert rows[1][4] == "Success"
    assert "/redeem/" in rows[1][8]


def test_a_multipart_upload_with_a_bad_row_reports_it(server: Server, admin: Caller) -> None:
    data = TEMPLATE + "not-an-address,https://myapps.microsoft.com,TRUE,\n"
    answer = admin.request(
        "POST", "/api/bulk/invitations", files={"file": ("guests.csv", data, "text/csv")}
    )
    assert answer.status_code == 202, answer.text
    done = wait_done(admin, f"/api/bulk/invitations/{answer.json()['id']}")
    assert (done["succeeded"], done["failed"]) == (1, 1)


def test_check_only_lists_bad_rows_and_stores_nothing(server: Server, admin: Caller) -> None:
    before = stored(server)
    data = TEMPLATE + "bad,https://myapps.microsoft.com,TRUE,\nok@fabrikam.com,http://x.example,,\n"
    answer = admin.request(
        "POST", "/api/bulk/invitations?checkOnly=true", content=data, headers=CSV
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["rows"], body["valid"], body["invalid"]) == (3, 1, 2)
    assert [e["row"] for e in body["errors"]] == [4, 5]
    assert body["errors"][0]["message"].startswith("Row 4, column inviteeEmail")
    assert stored(server) == before


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        ("name,address\nx,y\n", CSV, 400, "InvalidCsvHeadings"),
        ("version:v9\nx\n", CSV, 400, "InvalidCsvVersion"),
        ("email\na\x00@b.example\n", CSV, 400, "InvalidCsvCharacter"),
        (b"email\n\xff@b.example\n", CSV, 400, "InvalidCsvEncoding"),
        ("email\n" + "a" * 200_000 + "\n", CSV, 400, "CsvCellTooLong"),
        ("email\n", CSV, 400, "CsvNoRows"),
        ("{}", {"Content-Type": "application/json"}, 415, "UnsupportedMediaType"),
    ],
)
def test_a_bad_file_is_a_4xx_naming_the_problem_and_nothing_is_stored(
    server: Server,
    admin: Caller,
    content: str | bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    before = stored(server)
    answer = admin.request("POST", "/api/bulk/invitations", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert stored(server) == before


def test_unknown_query_bad_check_only_and_missing_file_are_400(
    server: Server, admin: Caller
) -> None:
    for path in ("/api/bulk/invitations?dryRun=1", "/api/bulk/invitations?checkOnly=yes"):
        answer = admin.request("POST", path, content=TEMPLATE, headers=CSV)
        assert answer.status_code == 400, answer.text
    answer = admin.request(
        "POST", "/api/bulk/invitations", files={"other": ("x.csv", TEMPLATE, "text/csv")}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "MissingFile"


def test_another_tenants_job_is_404_and_reading_needs_the_invite_permission(
    server: Server, admin: Caller
) -> None:
    job = admin.request("POST", "/api/bulk/invitations", content=TEMPLATE, headers=CSV).json()
    server.cli("tenant", "create", "--name", "Other", "--domain", "other-bulk.example")
    other = Caller.new_app(server, "other-bulk.example", INVITE)
    for method, suffix in (("GET", ""), ("GET", "/results"), ("POST", "/cancel")):
        answer = other.request(method, f"/api/bulk/invitations/{job['id']}{suffix}")
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "BulkJobNotFound"
    reader = Caller.new_app(server, "contoso.example", READ_USERS)
    assert reader.request("GET", f"/api/bulk/invitations/{job['id']}").status_code == 403
    assert admin.request("GET", "/api/bulk/invitations/not-a-guid").status_code == 404


def test_cancel_answers_the_job_and_a_finished_job_stays_finished(
    server: Server, admin: Caller
) -> None:
    job = admin.request("POST", "/api/bulk/invitations", content=TEMPLATE, headers=CSV).json()
    wait_done(admin, f"/api/bulk/invitations/{job['id']}")
    answer = admin.request("POST", f"/api/bulk/invitations/{job['id']}/cancel")
    assert answer.status_code == 200
    assert answer.json()["status"] == "done"


def test_the_cli_invites_a_file_and_writes_the_results(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "guests.csv"
    source.write_text(TEMPLATE.replace("alice", "cli-alice"), encoding="utf-8-sig")
    out = tmp_path / "results.csv"
    before = stored(server)
    check = server.cli(
        "bulk", "invite", str(source), "--tenant", "contoso.example", "--check-only", "--json"
    )
    assert json.loads(check.stdout)["valid"] == 1
    assert stored(server) == before
    done = server.cli(
        "bulk",
        "invite",
        str(source),
        "--tenant",
        "contoso.example",
        "--results",
        str(out),
        "--json",
    )
    answer = json.loads(done.stdout)
    assert answer["status"] == "done"
    assert answer["succeeded"] == 1
    assert "1/1 rows" in done.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[1][0] == "cli-alice@fabrikam.com"
    assert rows[1][4] == "Success"
    bad = server.cli("bulk", "invite", str(tmp_path), "--tenant", "contoso.example", check=False)
    assert bad.returncode == 1
    assert "CsvUnreadable" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def offline(request: pytest.FixtureRequest, tmp_path: Path) -> Server:
    """A database the CLI works on alone (no server, so no other worker takes the job)."""
    server = Server(workdir=tmp_path, database_url=database_url(request, tmp_path))
    server.cli("db", "upgrade")
    server.cli("tenant", "create", "--name", "Contoso", "--domain", "contoso.example")
    return server


def test_a_cli_killed_mid_job_resumes_with_no_guest_invited_twice(
    offline: Server, tmp_path: Path
) -> None:
    total = 3000
    source = tmp_path / "many.csv"
    source.write_text(
        "email,inviteRedirectURL,sendEmail\n"
        + "".join(
            f"k{i}@fabrikam.example,https://app.contoso.example,false\n" for i in range(total)
        )
    )
    url = offline.database_url
    process = subprocess.Popen(
        [*GUESTGATE, "bulk", "invite", str(source), "--tenant", "contoso.example"],
        env=offline.env(),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while count(url, "SELECT COUNT(*) FROM invitations") < 200:
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    invited = count(url, "SELECT COUNT(*) FROM invitations")
    done = count(url, "SELECT COUNT(*) FROM bulk_job_rows WHERE status = 'done'")
    assert invited == done < total  # what committed, committed with its row's mark
    job_id = _job_id(url)
    _expire_leases(url)  # the dead process's leases run out
    resumed = offline.cli("bulk", "resume", job_id, "--tenant", "contoso.example", "--json")
    assert json.loads(resumed.stdout)["succeeded"] == total
    assert count(url, "SELECT COUNT(*) FROM invitations") == total
    assert count(url, "SELECT COUNT(DISTINCT email) FROM invitations") == total
    assert count(url, "SELECT COUNT(*) FROM users WHERE user_type = 'Guest'") == total
    assert (
        count(
            url,
            "SELECT COUNT(*) FROM bulk_job_rows r JOIN invitations i ON i.id = r.invitation_id"
            " WHERE r.status = 'done'",
        )
        == total
    )


def _job_id(url: str) -> str:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return str(db.execute("SELECT id FROM bulk_jobs").fetchone()[0])
    with psycopg.connect(url) as pg:
        row = pg.execute("SELECT id FROM bulk_jobs").fetchone()
        assert row is not None
        return str(row[0])


def _expire_leases(url: str) -> None:
    sql = "UPDATE bulk_job_rows SET lease_until = '2000-01-01T00:00:00.000000Z'"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql)
        return
    with psycopg.connect(url) as pg:
        pg.execute(sql)


def test_rows_held_for_an_approver_over_http_and_the_cli(
    server: Server, admin: Caller, tmp_path: Path
) -> None:
    """A policy holds one domain: the check names its rows, the job's status counts them as
    held, the CLI's progress and answer too; approving one invites that guest."""
    app = "https://myapplications.microsoft.com"
    data = (
        "version:v1.0\n"
        + HEADINGS
        + f"\nana@waits.example,{app},TRUE,\nbo@free.example,{app},FALSE,\n"
        + f"cy@waits.example,{app},FALSE,\n"
    )
    server.cli("policy", "set", "--tenant", "contoso.example", "--approval-for", "waits.example")
    try:
        before = stored(server)
        checked = admin.request(
            "POST", "/api/bulk/invitations?checkOnly=true", content=data, headers=CSV
        )
        assert checked.status_code == 200, checked.text
        body = checked.json()
        assert (body["valid"], body["needsApproval"], body["approvalRows"]) == (3, 2, [3, 5])
        assert stored(server) == before
        answer = admin.request("POST", "/api/bulk/invitations", content=data, headers=CSV)
        assert answer.status_code == 202, answer.text
        done = wait_done(admin, answer.json()["statusUrl"])
        assert (done["succeeded"], done["held"], done["failed"]) == (1, 2, 0)
        results = admin.request("GET", done["resultsUrl"])
        rows = list(csv.reader(io.StringIO(results.text.removeprefix("\ufeff"))))
        held = [r for r in rows[1:] if r[4] == "PendingApproval"]
        assert [r[0] for r in held] == ["ana@waits.example", "cy@waits.example"]
        for row in held:
            assert row[5] == "PendingApproval"
            assert row[8] == f"{server.base_url}/api/approvals/{row[7]}"
            state = admin.request("GET", row[8])
            assert state.status_code == 200, state.text
            assert state.json()["status"] == "PendingApproval"

        source = tmp_path / "held.csv"
        source.write_text(data.replace("@waits", "-cli@waits").replace("bo@", "bo-cli@"))
        check = server.cli(
            "bulk", "invite", str(source), "--tenant", "contoso.example", "--check-only", "--json"
        )
        assert json.loads(check.stdout)["approvalRows"] == [3, 5]
        run = server.cli("bulk", "invite", str(source), "--tenant", "contoso.example", "--json")
        answer_cli = json.loads(run.stdout)
        assert (answer_cli["succeeded"], answer_cli["held"], answer_cli["failed"]) == (1, 2, 0)
        assert "1 invited, 2 held for approval, 0 failed" in run.stderr
    finally:
        server.cli("policy", "set", "--tenant", "contoso.example", "--approval-for", "")
