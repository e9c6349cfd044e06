"""Mixed tokens, invites, user lists and redeem pages for `--soak-seconds`."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import drift, run_wrk


def soak(run: CaseRun) -> dict[str, Any]:
    args = run.args
    with run.guestgate() as server:
        token = server.token()
        path, body = server.token_form()
        link = server.post_json(
            "/api/InviteGuest", {"invitedUserEmailAddress": "soak@bench.example"}, token
        )
        redeem = link["inviteRedeemUrl"].removeprefix(server.base)
        result = run_wrk(
            server,
            url=server.base,
            script="soak.lua",
            args=[token, path, body, redeem],
            connections=args.connections,
            duration=args.soak_seconds,
            sample_every=max(1.0, args.soak_seconds / 120),
        )
    result.update(drift(result["samples"]))
    return result
