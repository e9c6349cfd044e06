"""The peer (Django + django-invitations, gunicorn) under the `invite` case's own load script."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun
from bench.load import run_wrk
from bench.peer_site import Peer


def peer(run: CaseRun) -> dict[str, Any]:
    server = Peer(run.workdir)
    try:
        server.start()
        return run_wrk(
            server,
            url=server.base,
            script="invite.lua",
            args=[server.token, "false"],
            **run.closed_loop,
        )
    finally:
        server.stop()
