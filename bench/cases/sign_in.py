"""A complete sign-in with a live session, closed loop: an authorization request with the
session cookie answered 303 with a code, then the token request that redeems it
(`signin.lua`). The figure is complete sign-ins per second (an ID token received)."""

from __future__ import annotations

from typing import Any

from bench import signin_setup
from bench.harness import CaseRun
from bench.load import run_wrk


def sign_in(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        session = signin_setup.signed_in(server)
        result = run_wrk(
            server,
            url=server.base,
            script="signin.lua",
            args=[session.authorize_path, session.cookie, session.token_path, session.token_form],
            **run.closed_loop,
        )
        seconds = result["requests"] / result["rps"] if result["rps"] else 0.0
        result["signins_per_s"] = result["signins"] / seconds if seconds else 0.0
        return result
