"""Every bench case: one function per module, taking the run and returning its figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.cases.bulk import bulk, bulk_pg
from bench.cases.bulk_graph import bulk_graph
from bench.cases.code_exchange import code_exchange
from bench.cases.console import console
from bench.cases.deliveries import deliveries
from bench.cases.drain import drain
from bench.cases.invite import invite
from bench.cases.invite_500 import invite_500
from bench.cases.invite_email import invite_email
from bench.cases.invite_events import invite_events
from bench.cases.invite_metrics import invite_metrics
from bench.cases.invite_pg import invite_pg
from bench.cases.lifecycle import lifecycle_1m
from bench.cases.lifecycle_load import lifecycle_load
from bench.cases.memory import memory
from bench.cases.peer import peer
from bench.cases.redeem import redeem
from bench.cases.reports import reports
from bench.cases.sign_in import sign_in
from bench.cases.soak import soak
from bench.cases.start import start
from bench.cases.token import token
from bench.cases.users import users
from bench.cases.users_1m import users_1m
from bench.harness import CaseRun

CASES: dict[str, Callable[[CaseRun], dict[str, Any]]] = {
    "start": start,
    "token": token,
    "invite": invite,
    "invite-500": invite_500,
    "invite-email": invite_email,
    "drain": drain,
    "deliveries": deliveries,
    "invite-events": invite_events,
    "invite-metrics": invite_metrics,
    "invite-pg": invite_pg,
    "redeem": redeem,
    "code-exchange": code_exchange,
    "sign-in": sign_in,
    "users": users,
    "users-1m": users_1m,
    "bulk": bulk,
    "bulk-pg": bulk_pg,
    "bulk-graph": bulk_graph,
    "reports": reports,
    "lifecycle": lifecycle_1m,
    "lifecycle-load": lifecycle_load,
    "console": console,
    "memory": memory,
    "soak": soak,
    "peer": peer,
}
# Every row of the targets in docs/performance.md; `users` and `soak` are extras. The peer
# runs alternately with `invite` (added if not asked for), so their ratio is of one session.
# bulk and bulk-pg (a 100,000-row job each, docs/bulk.md), bulk-graph (graph mode at Graph's
# invitation limit, docs/bulk.md) and reports (a million invitations,
# docs/reports.md), console (a million guests, docs/console.md), lifecycle (a daily
# evaluation over a million guests, docs/governance.md) and lifecycle-load (the scheduler's
# pass over them while invites run at 500/s) are asked for by name.
ASKED_FOR = (
    "users",
    "soak",
    "bulk",
    "bulk-pg",
    "bulk-graph",
    "reports",
    "console",
    "lifecycle",
    "lifecycle-load",
)
DEFAULT_CASES = tuple(name for name in CASES if name not in ASKED_FOR)
PAIRED = {"peer": "invite"}
NO_QUIET_VARIANT = ("peer",)  # not guestgate: its logging is not ours to turn down
SINGLE_RUN = ("memory", "soak")  # ten minutes each: one run, its samples show the trend
