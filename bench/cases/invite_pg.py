"""`invite` on PostgreSQL: a new database on the local server (or `--postgres`) per run."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import run_wrk


def invite_pg(run: CaseRun) -> dict[str, Any]:
    with run.guestgate(postgres=True) as server:
        return run_wrk(
            server,
            url=server.base,
            script="invite.lua",
            args=[server.token(), "false"],
            **run.closed_loop,
        )
