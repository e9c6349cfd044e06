"""`POST /api/InviteGuest`, a unique address per request, no email."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import run_wrk


def invite(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        return run_wrk(
            server,
            url=server.base,
            script="invite.lua",
            args=[server.token(), "false"],
            **run.closed_loop,
        )
