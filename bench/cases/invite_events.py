"""What writing the event costs an invite: the `invite` load on a server as shipped, then on
one whose invite path writes no event (bench/no_events/sitecustomize.py), compared as CPU
seconds of the server processes per successful invite."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from typing import Any

from bench.harness import HERE, CaseRun
from bench.load import run_wrk

_PATH = [str(HERE / "no_events"), os.environ.get("PYTHONPATH")]
WITHOUT_EVENTS = {"PYTHONPATH": os.pathsep.join(p for p in _PATH if p)}


def _cpu_ms_per_invite(result: dict[str, Any]) -> float:
    """Server CPU (cores) over successful invites per second: milliseconds per invite."""
    return float(result["server_cpu"] / max(result["ok_rps"], 1e-9) * 1000)


def invite_events(run: CaseRun) -> dict[str, Any]:
    """The figures of the run with events, plus both CPU costs and the event's share."""
    measured: dict[str, dict[str, Any]] = {}
    stored: dict[str, int | None] = {}
    for name, env in (("with", None), ("without", WITHOUT_EVENTS)):
        variant = dataclasses.replace(run, workdir=run.workdir / name)  # a database each
        variant.workdir.mkdir(parents=True, exist_ok=True)
        with variant.guestgate(extra_env=env) as server:
            measured[name] = run_wrk(
                server,
                url=server.base,
                script="invite.lua",
                args=[server.token(), "false"],
                **run.closed_loop,
            )
            stored[name] = _events_stored(server.env["GUESTGATE_DATABASE_URL"])
    with_events = _cpu_ms_per_invite(measured["with"])
    without = _cpu_ms_per_invite(measured["without"])
    return {
        **measured["with"],
        "cpu_ms_per_invite": with_events,
        "cpu_ms_per_invite_without_events": without,
        "ok_rps_without_events": measured["without"]["ok_rps"],
        "event_cpu_overhead_pct": (with_events / without - 1) * 100,
        # How many events each server stored (SQLite only): the second must have none.
        "events_stored": stored["with"],
        "events_stored_without": stored["without"],
    }


def _events_stored(database_url: str) -> int | None:
    if not database_url.startswith("sqlite:///"):
        return None
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
