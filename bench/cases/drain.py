"""Invites queue messages with delivery off; then one `guestgate worker` empties the queue."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Any, Protocol

import psutil

from bench.harness import CaseRun, Guestgate, SmtpSink
from bench.load import run_wrk


def drain(run: CaseRun) -> dict[str, Any]:
    """Messages per second from the worker's first delivery to its last.

    wrk counts the answers it read; invites still in flight when it stopped may have been
    queued too, so at least `queued` messages arrive.
    """
    with SmtpSink() as sink, run.guestgate(smtp_url=sink.url, inprocess_worker=False) as server:
        queued = run_wrk(
            server,
            url=server.base,
            script="invite.lua",
            args=[server.token(), "true"],
            **run.closed_loop,
        )
        total = int(queued["requests"] - queued["non2xx"])
        delivered, per_second, worker_cpu = run_worker(server, sink, total)
        return {
            "queued": total,
            "delivered": delivered,
            "emails_per_s": per_second,
            "worker_cpu": worker_cpu,
        }


class Counting(Protocol):
    @property
    def count(self) -> int: ...


def run_worker(server: Guestgate, sink: Counting, total: int) -> tuple[int, float, float]:
    """Start one `guestgate worker` and wait until `sink` has `total` items (or 10 min):
    (items received, items per second and worker CPU, both from its first delivery on)."""
    started = time.monotonic()
    worker = subprocess.Popen(
        [sys.executable, "-m", "guestgate", "worker", "--poll", "0.2"],
        env=server.env,
        cwd=server.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process = psutil.Process(worker.pid)
    cpu = cpu_at_first = 0.0
    first: tuple[float, int] | None = None  # time and count at the first delivery
    try:
        while sink.count < total and time.monotonic() - started < 600:
            with contextlib.suppress(psutil.NoSuchProcess):
                cpu = sum(process.cpu_times()[:2])
            if first is None and sink.count > 0:
                first, cpu_at_first = (time.monotonic(), sink.count), cpu
            time.sleep(0.02)
        ended = time.monotonic()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert first is not None, "the worker delivered nothing"
    seconds = max(ended - first[0], 1e-6)  # the worker's start-up is not delivery time
    return sink.count, (sink.count - first[1]) / seconds, (cpu - cpu_at_first) / seconds
