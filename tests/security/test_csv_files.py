"""Hostile CSV files at the bulk upload, and cells a spreadsheet would run in every CSV
guestgate writes, on SQLite and PostgreSQL.

A file that cannot be used is a 400 naming what is wrong (415 for the wrong type), with
nothing stored; a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return comes
back with a leading `'` (OWASP's advice against CSV injection) in the bulk results and in
the reports' CSV; the console's audit.csv is checked in tests/e2e/test_console_audit.py.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.e2e.test_bulk import wait_done
from tests.security.both import DATABASES, count, start_server

pytestmark = pytest.mark.e2e
HEADINGS = "email,inviteRedirectUrl,inviteeName\n"


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    yield from start_server(request, tmp_path_factory.mktemp("csv-files"), sink)


@pytest.fixture(scope="module")
def caller(server: Server) -> Caller:
    return Caller.new_app(server, "contoso.example", "User.Invite.All", "AuditLog.Read.All")


def stored(server: Server) -> tuple[int, ...]:
    return tuple(
        count(server, f"SELECT COUNT(*) FROM {table}")
        for table in ("bulk_jobs", "bulk_job_rows", "invitations", "outbox")
    )


def row(name: str = "Ann") -> str:
    return f"csv.{uuid.uuid4().hex[:8]}@fabrikam.example,https://app.example/,{name}\n"


def upload(caller: Caller, data: bytes, media: str | None = "text/csv") -> httpx.Response:
    headers = {} if media is None else {"Content-Type": media}
    return caller.request("POST", "/api/bulk/invitations", content=data, headers=headers)


BAD_FILES = {
    "NUL": ((HEADINGS + row("a\x00b")).encode(), "InvalidCsvCharacter"),
    "invalid UTF-8": (
        HEADINGS.encode() + b"\xff\xfe@x.example,https://app.example/,a\n",
        "InvalidCsvEncoding",
    ),
    "UTF-16 with BOM": (("\ufeff" + HEADINGS + row()).encode("utf-16"), "InvalidCsvEncoding"),
    "two BOMs": (("\ufeff\ufeff" + HEADINGS + row()).encode(), "InvalidCsvHeadings"),
    "65 columns": (
        (",".join(["email"] + [f"c{i}" for i in range(64)]) + "\n").encode(),
        "CsvTooManyColumns",
    ),
    "a 12,001-character cell": ((HEADINGS + row("a" * 12_001)).encode(), "CsvCellTooLong"),
    "100,001 rows": (
        (
            HEADINGS
            + "".join(f"r{i}@fabrikam.example,https://app.example/,a\n" for i in range(100_001))
        ).encode(),
        "CsvTooManyRows",
    ),
    "an open quote": (
        (HEADINGS + 'a@fabrikam.example,"https://app.example/,a\n').encode(),
        "InvalidCsv",
    ),
    "empty": (b"", "InvalidCsvHeadings"),
    "headings only": (HEADINGS.encode(), None),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_file_that_cannot_be_used_is_a_400_and_stores_nothing(
    caller: Caller, server: Server, name: str
) -> None:
    data, code = BAD_FILES[name]
    before = stored(server)
    answer = upload(caller, data)
    assert answer.status_code == 400, answer.text
    if code is not None:
        assert answer.json()["error"]["code"] == code
    assert stored(server) == before


@pytest.mark.parametrize("media", ["application/json", "image/png", None])
def test_a_file_of_another_type_is_a_415_and_stores_nothing(
    caller: Caller, server: Server, media: str | None
) -> None:
    before = stored(server)
    assert upload(caller, (HEADINGS + row()).encode(), media).status_code == 415
    assert stored(server) == before


def test_a_multipart_upload_with_two_files_is_refused_not_guessed(
    caller: Caller, server: Server
) -> None:
    before = stored(server)
    files = [
        ("file", ("a.csv", HEADINGS + row(), "text/csv")),
        ("file", ("b.csv", HEADINGS + row(), "text/csv")),
    ]
    answer = caller.request("POST", "/api/bulk/invitations", files=files)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "TooManyFiles"
    assert stored(server) == before


@pytest.mark.parametrize(
    "body",
    [
        b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        b"".join(
            b'--xx\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i
            for i in range(2000)
        )
        + b"--xx--\r\n",
    ],
    ids=["unterminated", "2000 parts"],
)
def test_a_broken_multipart_body_is_a_400(caller: Caller, server: Server, body: bytes) -> None:
    before = stored(server)
    answer = upload(caller, body, "multipart/form-data; boundary=xx")
    assert answer.status_code == 400, answer.text
    assert stored(server) == before


def test_a_file_name_is_not_used(caller: Caller) -> None:
    files = [("file", ("../../etc/passwd\r\nX-Evil: 1", HEADINGS + row(), "image/png"))]
    answer = caller.request("POST", "/api/bulk/invitations?checkOnly=true", files=files)
    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] == 1


FORMULAS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"]


def test_cells_a_spreadsheet_would_run_come_back_neutralised(
    caller: Caller, server: Server
) -> None:
    requester = f"=1+{uuid.uuid4().hex[:6]}@formula.example"
    lines = "email,inviteRedirectUrl,inviteeName,requestedBy\n" + "".join(
        f'csv.{uuid.uuid4().hex[:8]}@fabrikam.example,https://app.example/,"{cell}",{requester}\n'
        for cell in FORMULAS
    )
    job = upload(caller, lines.encode())
    assert job.status_code == 202, job.text
    url = f"/api/bulk/invitations/{job.json()['id']}"
    wait_done(caller, url)
    results = caller.request("GET", f"{url}/results")
    assert results.status_code == 200, results.text
    read = list(csv.DictReader(io.StringIO(results.text.removeprefix("\ufeff"))))
    assert [r["status"] for r in read] == ["Success"] * len(FORMULAS), read
    assert [r["inviteeName"] for r in read] == ["'" + c for c in FORMULAS]
    assert {r["requestedBy"] for r in read} == {"'" + requester}

    report = caller.request("GET", "/api/reports/requesters", params={"format": "csv"})
    assert report.status_code == 200, report.text
    cells = [c for r in csv.reader(io.StringIO(report.text)) for c in r]
    assert "'" + requester in cells
    assert requester not in cells
    for text in (results.text, report.text):
        for line in csv.reader(io.StringIO(text.removeprefix("\ufeff"))):
            assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in line), line


def test_one_guest_twice_in_a_file_is_invited_once_and_mailed_once(
    caller: Caller, server: Server, sink: SmtpSink
) -> None:
    address = f"twice.{uuid.uuid4().hex[:8]}@fabrikam.example"
    data = f"{HEADINGS}{address},https://app.example/,A\n{address.upper()},https://app.example/,B\n"
    checked = caller.request(
        "POST",
        "/api/bulk/invitations?checkOnly=true",
        content=data.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert checked.json()["errors"][0]["code"] == "DuplicateAddress", checked.text
    job = upload(caller, data.encode())
    assert job.status_code == 202, job.text
    url = f"/api/bulk/invitations/{job.json()['id']}"
    wait_done(caller, url)
    results = caller.request("GET", f"{url}/results").text.removeprefix("\ufeff")
    read = list(csv.DictReader(io.StringIO(results)))
    assert [(r["status"], r["error code"]) for r in read] == [
        ("Success", ""),
        ("Failure", "DuplicateAddress"),
    ]
    sink.wait_for(1, to=address, subject_contains="invited you")
    time.sleep(2)
    assert len(sink.messages(to=address, subject_contains="invited you")) == 1
    assert count(server, "SELECT COUNT(*) FROM invitations WHERE email = %s", address) == 1
