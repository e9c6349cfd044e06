"""A bulk-invite job end to end: upload a CSV of `--bulk-rows` rows, wait for the job, download
the results file. Rows per second from the upload's start to the results' last byte."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from bench.harness import CaseRun, Guestgate


def _call(
    server: Guestgate, method: str, path: str, token: str, body: bytes | None = None
) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "text/csv"
    request = urllib.request.Request(server.base + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=600) as answer:
        return bytes(answer.read())


def _job(run: CaseRun, *, postgres: bool) -> dict[str, Any]:
    rows = run.args.bulk_rows
    data = (
        "email,inviteRedirectURL,sendEmail\n"
        + "".join(
            f"bulk{i}@fabrikam.example,https://app.contoso.example,false\n" for i in range(rows)
        )
    ).encode()
    with run.guestgate(postgres=postgres) as server:
        token = server.token()
        started = time.monotonic()
        job = json.loads(_call(server, "POST", "/api/bulk/invitations", token, data))
        accepted = time.monotonic()
        status = f"/api/bulk/invitations/{job['id']}"
        while (state := json.loads(_call(server, "GET", status, token)))["status"] != "done":
            assert state["status"] in ("queued", "running"), state
            time.sleep(0.5)  # each look counts the rows by state: not too often
        results = _call(server, "GET", f"{status}/results", token)
        ended = time.monotonic()
    return {
        "rows": rows,
        "succeeded": state["succeeded"],
        "failed": state["failed"],
        "upload_s": accepted - started,
        "total_s": ended - started,
        "rows_per_s": rows / (ended - started),
        "results_mib": round(len(results) / 2**20, 1),
    }


def bulk(run: CaseRun) -> dict[str, Any]:
    return _job(run, postgres=False)


def bulk_pg(run: CaseRun) -> dict[str, Any]:
    return _job(run, postgres=True)
