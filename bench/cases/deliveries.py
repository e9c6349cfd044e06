"""Webhook deliveries: invites queue their events with the worker off; then one
`guestgate worker` delivers them to a local receiver, signed, one delivery per event."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

from bench.cases.drain import run_worker
from bench.harness import CaseRun, Guestgate
from bench.load import run_wrk
from bench.webhook_sink import WebhookSink

# The receiver is on loopback: allowed as the tests allow it (docs/events.md, SSRF).
LOOPBACK = {"GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true"}


def admin_token(server: Guestgate) -> str:
    """A token of a new app of the demo tenant that may manage webhooks."""
    tenant = server.credentials()["TenantID"]
    command = ["app", "create", "--tenant", tenant, "--name", "bench hooks", "--json"]
    made = json.loads(
        subprocess.run(
            [sys.executable, "-m", "guestgate", *command, "--permission", "User.ReadWrite.All"],
            env=server.env,
            cwd=server.workdir,
            capture_output=True,
            check=True,
        ).stdout
    )
    form = (
        f"grant_type=client_credentials&client_id={made['AppID']}"
        f"&client_secret={made['AppSecret']}&scope=https://graph.microsoft.com/.default"
    )
    request = urllib.request.Request(
        f"{server.base}/{made['TenantID']}/oauth2/v2.0/token",
        data=form.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request) as answer:
        return str(json.load(answer)["access_token"])


def deliveries(run: CaseRun) -> dict[str, Any]:
    """Deliveries per second from the worker's first delivery to its last, and its CPU.

    wrk counts the invites it was answered; one still in flight when it stopped may have
    been stored too, so at least `queued` deliveries arrive.
    """
    with (
        WebhookSink() as sink,
        run.guestgate(inprocess_worker=False, extra_env=LOOPBACK) as server,
    ):
        server.post_json("/api/webhooks", {"url": sink.url}, admin_token(server))
        queued = run_wrk(
            server,
            url=server.base,
            script="invite.lua",
            args=[server.token(), "false"],
            **run.closed_loop,
        )
        total = int(queued["requests"] - queued["non2xx"])
        delivered, per_second, worker_cpu = run_worker(server, sink, total)
        return {
            "queued": total,
            "delivered": delivered,
            "deliveries_per_s": per_second,
            "worker_cpu": worker_cpu,
        }
