"""Prometheus metrics: what each process counts, and the text `GET /metrics` answers with.

Counters and histograms live in the process that counts (prometheus-client). With
`serve --workers N` the supervisor makes an empty directory for the run and names it in
PROMETHEUS_MULTIPROC_DIR before it starts the workers (`share_between_workers`); the library
then keeps every worker's values in a file of its own there, and a scrape adds up every
file, so whichever worker answers `/metrics` reports the whole deployment. A worker that is
replaced leaves its file behind: its counts stay in the totals. One process (`serve` with one
worker) counts in memory.

What the database knows (the outbox backlog) is read at scrape time (`Backlog`), not counted.
Every label takes a bounded set of values: a route is the template it matched (or
`unmatched`), never the path a client sent.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as multiprocess_mode
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# Prometheus's classic text format (CONTENT_TYPE_PLAIN_0_0_4); Litestar adds the charset.
MEDIA_TYPE = "text/plain; version=0.0.4"
UNMATCHED = "unmatched"  # the route of a request no route matched (404, 405)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# No `_created` series: they double the output and mean nothing across worker processes.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=False)

HTTP_REQUESTS = Counter(
    "guestgate_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "guestgate_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template",
    ["method", "route"],
    registry=REGISTRY,
)
INVITATIONS_CREATED = Counter(
    "guestgate_invitations_created", "Invitations created (committed)", registry=REGISTRY
)
INVITATIONS_REDEEMED = Counter(
    "guestgate_invitations_redeemed", "Invitations redeemed by their guest", registry=REGISTRY
)
DELIVERIES = Counter(
    "guestgate_deliveries",
    "Delivery attempts of mail and webhooks: delivered, failed (to be retried) or dead (given up)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "guestgate_throttled_requests",
    "Requests refused by a guessing limit (429), by the limit",
    ["limit"],
    registry=REGISTRY,
)
DB_WAIT = Histogram(
    "guestgate_db_wait_seconds",
    "Time a transaction waited to start: SQLite's write lock, PostgreSQL's pool and commit groups",
    ["database", "access"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)

_PARAMETER = re.compile(r"\{(\w+):[^}]*\}")  # Litestar's `{name:type}`: shown as `{name}`
_http: dict[tuple[str, str | None, int], tuple[Counter, Histogram]] = {}


def record_request(method: str, template: str | None, status: int, seconds: float) -> None:
    """One answered request (`template`: the route it matched, None if none did)."""
    if method not in METHODS:
        method = "other"
    children = _http.get((method, template, status))
    if children is None:  # one entry per method, route and status: a bounded cache
        route = UNMATCHED if template is None else _PARAMETER.sub(r"{\1}", template)
        children = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(method, route),
        )
        _http[method, template, status] = children
    children[0].inc()
    children[1].observe(seconds)


def invitation_created() -> None:
    INVITATIONS_CREATED.inc()


def invitation_redeemed() -> None:
    INVITATIONS_REDEEMED.inc()


def delivery(channel: str, outcome: str) -> None:
    """`channel`: mail or webhook; `outcome`: delivered, failed or dead."""
    DELIVERIES.labels(channel, outcome).inc()


def throttled(limit: str) -> None:
    THROTTLED.labels(limit).inc()


def database_wait(database: str, access: str) -> Histogram:
    """The histogram a database adapter observes its waits in (bind it once)."""
    return DB_WAIT.labels(database, access)


@dataclass(frozen=True, slots=True)
class Backlog:
    """One queue as the database holds it at scrape time."""

    queue: str  # mail or webhook
    pending: int
    oldest_age_seconds: float  # of the oldest pending entry; 0 when none is pending
    dead: int


class _BacklogCollector(Collector):
    def __init__(self, backlogs: Sequence[Backlog]) -> None:
        self.backlogs = backlogs

    def collect(self) -> Iterator[Metric]:
        families = (
            ("guestgate_outbox_backlog", "Entries waiting to be delivered", "pending"),
            (
                "guestgate_outbox_oldest_age_seconds",
                "Age of the oldest entry waiting to be delivered (0 when none waits)",
                "oldest_age_seconds",
            ),
            ("guestgate_outbox_dead", "Entries given up on (kept until retention)", "dead"),
        )
        for name, text, attribute in families:
            family = GaugeMetricFamily(name, text, labels=["queue"])
            for backlog in self.backlogs:
                family.add_metric([backlog.queue], float(getattr(backlog, attribute)))
            yield family


def exposition(backlogs: Sequence[Backlog]) -> bytes:
    """The text of `/metrics`: every worker's counts, then the database's gauges."""
    if getattr(prometheus_values.ValueClass, "_multiprocess", False):
        registry = CollectorRegistry(auto_describe=False)
        multiprocess_mode.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_BacklogCollector(backlogs))
    return counted + generate_latest(gauges)


def share_between_workers() -> str:
    """Make this run's empty metrics directory and name it for the workers about to start.

    The variable is prometheus-client's own: it must be set before the library loads in a
    process, which is true of each worker (started with spawn) but not of this one.
    """
    path = tempfile.mkdtemp(prefix="guestgate-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path
