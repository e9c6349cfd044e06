"""Bulk jobs in Microsoft 365 mode, against a local-mode guestgate playing Microsoft Graph
(as test_graph_mode.py does): with guestgate's own app registration a job's rows become
guests in Graph through the same InvitationService; without one, an upload is refused with
409 and nothing is stored, as a job would have no caller's token to forward."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def microsoft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("microsoft")
    server = Server(workdir=workdir, database_url=f"sqlite:///{workdir}/guestgate.db", tls=True)
    server.start()
    yield server
    server.stop()


def broker_env(microsoft: Server) -> dict[str, str]:
    return {
        "GUESTGATE_DIRECTORY": "graph",
        "GUESTGATE_GRAPH_URL": microsoft.base_url,
        "GUESTGATE_ENTRA_URL": microsoft.base_url,
        "GUESTGATE_GRAPH_CA_FILE": str(microsoft.cert),
    }


def app(microsoft: Server, name: str, *permissions: str) -> dict[str, str]:
    args = ["app", "create", "--tenant", "contoso.example", "--name", name, "--json"]
    for permission in permissions:
        args += ["--permission", permission]
    created: dict[str, str] = json.loads(microsoft.cli(*args).stdout)
    return created


def api_token(microsoft: Server, caller: dict[str, str]) -> str:
    with microsoft.client() as client:
        answer = client.post(
            f"/{caller['TenantID']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": caller["AppID"],
                "client_secret": caller["AppSecret"],
                "scope": "api://guestgate/.default",
            },
        )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def jobs_in(server: Server) -> int:
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        return int(db.execute("SELECT COUNT(*) FROM bulk_jobs").fetchone()[0])


def test_a_job_invites_its_rows_in_graph_with_guestgates_own_app(
    microsoft: Server, tmp_path: Path
) -> None:
    own = app(microsoft, "guestgate broker", "User.Invite.All", "User.Read.All")
    broker = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env={
            **broker_env(microsoft),
            "GUESTGATE_GRAPH_CLIENT_ID": own["AppID"],
            "GUESTGATE_GRAPH_CLIENT_SECRET": own["AppSecret"],
            "GUESTGATE_GRAPH_TENANT": own["TenantID"],
        },
    ).start()
    try:
        token = api_token(microsoft, app(microsoft, "HR", "User.Invite.All"))
        guests = [f"graphbulk.{uuid.uuid4().hex[:8]}@fabrikam.example" for _ in range(3)]
        data = "email,inviteRedirectURL,sendEmail\n" + "".join(
            f"{g},https://app.contoso.example,false\n" for g in guests
        )
        with broker.client() as client:
            headers = {"Authorization": f"Bearer {token}"}
            answer = client.post(
                "/api/bulk/invitations",
                content=data,
                headers={**headers, "Content-Type": "text/csv"},
            )
            assert answer.status_code == 202, answer.text
            status_url = f"/api/bulk/invitations/{answer.json()['id']}"
            deadline = time.monotonic() + 30
            while (job := client.get(status_url, headers=headers).json())["status"] != "done":
                assert time.monotonic() < deadline, job
                time.sleep(0.2)
            results = client.get(f"{status_url}/results", headers=headers)
        assert job["succeeded"] == 3
        rows = list(csv.reader(io.StringIO(results.text.removeprefix("\ufeff"))))
        graph = Caller.demo(microsoft)
        for row, guest in zip(rows[1:], guests, strict=True):
            assert row[3] == "Success"
            created = graph.request("GET", f"/v1.0/users/{row[6]}").json()
            assert created["mail"] == guest
    finally:
        broker.stop()


def test_without_an_app_registration_an_upload_is_refused_and_nothing_stored(
    microsoft: Server, tmp_path: Path
) -> None:
    broker = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        extra_env=broker_env(microsoft),
    ).start()
    try:
        caller = Caller.demo(microsoft)  # a Graph token, which the broker forwards
        with broker.client() as client:
            answer: httpx.Response = client.post(
                "/api/bulk/invitations",
                content="email\nnobody@fabrikam.example\n",
                headers={"Authorization": f"Bearer {caller.token}", "Content-Type": "text/csv"},
            )
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "BulkJobsUnavailable"
        assert jobs_in(broker) == 0
    finally:
        broker.stop()
