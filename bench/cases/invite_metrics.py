"""What `/metrics` costs an invite: the `invite` load on a server with metrics on
(GUESTGATE_METRICS_TOKEN set: every request, transaction and invitation counted in the
workers' shared files, the server scraped every 5 s as Prometheus would) and on one with
metrics off, run off-on-on-off so a drift of the shared machine weighs on both alike;
compared as CPU seconds of the server processes per successful invite."""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench.cases.invite_events import _cpu_ms_per_invite
from bench.harness import CaseRun
from bench.load import run_wrk

SCRAPE_SECONDS = 5.0


@contextmanager
def _scraping(base: str, token: str) -> Iterator[list[int]]:
    """Scrape /metrics every few seconds until the block ends; the statuses it got."""
    statuses: list[int] = []
    done = threading.Event()

    def loop() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            while not done.wait(SCRAPE_SECONDS):
                statuses.append(client.get("/metrics").status_code)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        done.set()
        thread.join()


def invite_metrics(run: CaseRun) -> dict[str, Any]:
    """Both CPU costs per invite (each the mean of its two runs) and the metrics' share."""
    token = secrets.token_urlsafe(24)
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    rps: dict[str, list[float]] = {"on": [], "off": []}
    scrapes: list[int] = []
    last: dict[str, Any] = {}
    for index, name in enumerate(("off", "on", "on", "off")):
        variant = dataclasses.replace(run, workdir=run.workdir / f"{index}-{name}")
        variant.workdir.mkdir(parents=True, exist_ok=True)
        env = {"GUESTGATE_METRICS_TOKEN": token} if name == "on" else None
        with variant.guestgate(extra_env=env) as server:
            with _scraping(server.base, token) as statuses:
                result = run_wrk(
                    server,
                    url=server.base,
                    script="invite.lua",
                    args=[server.token(), "false"],
                    **run.closed_loop,
                )
            if name == "on":
                scrapes += statuses
                last = result
        cpu[name].append(_cpu_ms_per_invite(result))
        rps[name].append(float(result["ok_rps"]))
    on, off = sum(cpu["on"]) / 2, sum(cpu["off"]) / 2
    return {
        **last,
        "cpu_ms_per_invite": on,
        "cpu_ms_per_invite_without_metrics": off,
        "cpu_ms_per_invite_runs": cpu,
        "ok_rps_runs": rps,
        "metrics_cpu_overhead_pct": (on / off - 1) * 100,
        # Scrapes during the runs with metrics on, and how many of them were answered.
        "scrapes": len(scrapes),
        "scrapes_ok": scrapes.count(200),
    }
