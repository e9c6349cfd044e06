"""Client-credentials tokens from the token endpoint."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import run_wrk


def token(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        path, body = server.token_form()
        return run_wrk(
            server, url=server.base, script="form.lua", args=[path, body], **run.closed_loop
        )
