"""`GET /redeem/…`: the page a guest's link opens."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import run_wrk


def redeem(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        link = server.post_json(
            "/api/InviteGuest", {"invitedUserEmailAddress": "redeem@bench.example"}, server.token()
        )
        return run_wrk(
            server, url=link["inviteRedeemUrl"], script="bearer.lua", args=[], **run.closed_loop
        )
