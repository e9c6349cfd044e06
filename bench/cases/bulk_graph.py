"""`bulk-graph`: a bulk job in Microsoft 365 mode against a local guestgate standing in for
Microsoft Graph and Entra, which keeps Graph's invitation limit (150 per 5 s per tenant,
429 past it: GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S).

A graph-mode guestgate with its own app registration in the stand-in's tenant takes a CSV of
`--bulk-graph-rows` rows from an app of that tenant, paces the job's invitations under the
limit and writes the results file. Invites per second from the upload's start to the results'
last byte, and every 429 the stand-in answered (its access log), are reported. Target: within
2 % of 30 invites/s, no 429.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

from bench.cases.bulk import _call
from bench.harness import CaseRun, Guestgate

GRAPH_LIMIT = 150  # per 5 s per tenant, as Microsoft Graph counts invitations


def _app(server: Guestgate, tenant: str, name: str, *permissions: str) -> dict[str, str]:
    args = [sys.executable, "-m", "guestgate", "app", "create", "--tenant", tenant]
    args += ["--name", name, "--json"]
    for permission in permissions:
        args += ["--permission", permission]
    done = subprocess.run(args, env=server.env, cwd=server.workdir, capture_output=True, check=True)
    made: dict[str, str] = json.loads(done.stdout)
    return made


def _api_token(server: Guestgate, app: dict[str, str]) -> str:
    """A token for guestgate's API (what a caller of the graph-mode instance holds)."""
    form = (
        f"grant_type=client_credentials&client_id={app['AppID']}"
        f"&client_secret={app['AppSecret']}&scope=api://guestgate/.default"
    )
    request = urllib.request.Request(
        f"{server.base}/{app['TenantID']}/oauth2/v2.0/token",
        data=form.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, context=server.ssl) as answer:
        return str(json.load(answer)["access_token"])


def _statuses(server: Guestgate, path: str) -> dict[int, int]:
    """Answers per status to POSTs of `path`, from the server's access log."""
    found: dict[int, int] = {}
    for line in (server.workdir / "serve.out").read_text().splitlines():
        if '"guestgate.access"' in line and f'"POST {path} ' in line:
            status = int(json.loads(line)["status"])
            found[status] = found.get(status, 0) + 1
    return found


def bulk_graph(run: CaseRun) -> dict[str, Any]:
    rows = run.args.bulk_graph_rows
    (run.workdir / "graph").mkdir()
    (run.workdir / "broker").mkdir()
    standin = Guestgate(
        run.workdir / "graph",
        database_url=None,
        quiet_logs=False,  # its access log counts the 429s
        extra_env={"GUESTGATE_LOCAL_GRAPH_INVITES_PER_5S": str(GRAPH_LIMIT)},
        tls=True,  # Entra's client library takes only an https authority
    )
    standin.start()
    try:
        tenant = standin.credentials()["TenantID"]
        own = _app(standin, tenant, "guestgate broker", "User.Invite.All", "User.Read.All")
        token = _api_token(standin, _app(standin, tenant, "HR", "User.Invite.All"))
        with run.guestgate(
            extra_env={
                "GUESTGATE_DIRECTORY": "graph",
                "GUESTGATE_GRAPH_URL": standin.base,
                "GUESTGATE_ENTRA_URL": standin.base,
                "GUESTGATE_GRAPH_CLIENT_ID": own["AppID"],
                "GUESTGATE_GRAPH_CLIENT_SECRET": own["AppSecret"],
                "GUESTGATE_GRAPH_TENANT": own["TenantID"],
                "GUESTGATE_GRAPH_CA_FILE": str(standin.cert),
            }
        ) as broker:
            data = (
                "email,inviteRedirectURL,sendEmail\n"
                + "".join(
                    f"graphbulk{i}@fabrikam.example,https://app.contoso.example,false\n"
                    for i in range(rows)
                )
            ).encode()
            started = time.monotonic()
            job = json.loads(_call(broker, "POST", "/api/bulk/invitations", token, data))
            status = f"/api/bulk/invitations/{job['id']}"
            while (state := json.loads(_call(broker, "GET", status, token)))["status"] != "done":
                assert state["status"] in ("queued", "running"), state
                time.sleep(0.2)
            results = _call(broker, "GET", f"{status}/results", token)
            ended = time.monotonic()
        answers = _statuses(standin, "/v1.0/invitations")
    finally:
        standin.stop()
    total = ended - started
    return {
        "rows": rows,
        "succeeded": state["succeeded"],
        "failed": state["failed"],
        "total_s": round(total, 2),
        "invites_per_s": round(rows / total, 2),
        "target_per_s": GRAPH_LIMIT / 5,
        "graph_201": answers.get(201, 0),
        "graph_429": answers.get(429, 0),
        "results_kib": round(len(results) / 1024, 1),
    }
