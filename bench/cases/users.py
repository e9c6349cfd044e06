"""`GET /v1.0/users` on 2,000 guests invited through the API."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import run_wrk


def users(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        token = server.token()
        for i in range(2000):
            server.post_json(
                "/api/InviteGuest", {"invitedUserEmailAddress": f"u{i}@users.example"}, token
            )
        url = f"{server.base}/v1.0/users?$filter=userType%20eq%20'Guest'&$top=100"
        return run_wrk(server, url=url, script="bearer.lua", args=[token], **run.closed_loop)
