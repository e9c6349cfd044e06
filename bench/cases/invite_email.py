"""InviteGuest with mail at a fixed rate: does delivery keep up, i.e. does the outbox backlog
stay flat?"""

from __future__ import annotations

import os
from typing import Any

from bench.harness import CaseRun, SmtpSink
from bench.load import run_openloop


def invite_email(run: CaseRun) -> dict[str, Any]:
    rate = run.args.email_rate
    with SmtpSink() as sink, run.guestgate(smtp_url=sink.url) as server:
        result = run_openloop(
            server,
            path="/api/InviteGuest",
            token=server.token(),
            body='{"invitedUserEmailAddress":"mail-'
            + str(os.getpid())
            + '-{n}@bench.example","sendInvitationMessage":true}',
            rate=rate,
            duration=run.args.duration,
            sample_every=1.0,
            probe=lambda: sink.count,
        )
        backlog = [round(rate * x["t"]) - x["delivered"] for x in result["samples"]]
        result["emails_delivered"] = sink.count
        result["backlog_after_warmup"] = backlog[len(backlog) // 5] if backlog else None
        result["backlog_end"] = result["requests"] - result["emails_delivered"]
        return result
