"""InviteGuest at a fixed rate (`--rate`, 500/s by default)."""

from __future__ import annotations

import os
from typing import Any

from bench.harness import CaseRun
from bench.load import run_openloop


def invite_500(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        return run_openloop(
            server,
            path="/api/InviteGuest",
            token=server.token(),
            body='{"invitedUserEmailAddress":"open-' + str(os.getpid()) + '-{n}@bench.example"}',
            rate=run.args.rate,
            duration=run.args.duration,
        )
