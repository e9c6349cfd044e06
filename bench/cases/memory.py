"""InviteGuest at a fixed rate for `--soak-seconds`: RSS and descriptors of every process."""

from __future__ import annotations

import os
from typing import Any

from bench.harness import CaseRun
from bench.load import drift, run_openloop


def memory(run: CaseRun) -> dict[str, Any]:
    args = run.args
    with run.guestgate() as server:
        result = run_openloop(
            server,
            path="/api/InviteGuest",
            token=server.token(),
            body='{"invitedUserEmailAddress":"mem-' + str(os.getpid()) + '-{n}@bench.example"}',
            rate=args.rate,
            duration=args.soak_seconds,
            sample_every=max(1.0, args.soak_seconds / 120),
        )
    result.update(drift(result["samples"]))
    at = 100_000 / args.rate  # seconds until the 100,000th invite
    later = [x for x in result["samples"] if x["t"] >= at]
    result["rss_at_100k_mib"] = later[0]["rss_mib"] if later else None
    return result
