"""`lifecycle-load`: the lifecycle scheduler's daily pass over `--guests` guests while
InviteGuest runs at a fixed `--rate` (500/s) against the same service (issue 19's target: the
pass in <= 60 s of worker time, the invites' p99 <= 50 ms meanwhile).

`guestgate serve --workers 2` runs on SQLite; the guests are written straight into its
database (bench/cases/users_1m.py), and a lifecycle policy (the `lifecycle` case's) is created
with the CLI. The open-loop load driver (bench/openloop.py) then starts in its own process for
`--duration` seconds. After `WARMUP` seconds of it, this process runs one pass of the
scheduler: the callable the worker runs (bootstrap's lifecycle pass, on this process's own
runtime over the same database), its clock set `DAYS_AHEAD` days after the policy was made so
that steps fall due. The pass's wall time and this process's CPU seconds (user + system; the
load's monitor thread adds a little) are measured, and the invites' achieved rate,
percentiles and errors are taken over the requests due while the pass ran, besides those of
the whole load. `--duration` must cover the warm-up and the pass (`covered`).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.cases.lifecycle import POLICY
from bench.cases.users_1m import seed_guests
from bench.harness import CaseRun, Guestgate
from bench.load import run_openloop
from guestgate.bootstrap import build_runtime
from guestgate.config_env import from_env
from guestgate.domain.timestamps import utcnow

WARMUP = 5.0  # seconds of invites before the pass starts
DAYS_AHEAD = 19  # the pass's day, after the policy took effect (as the `lifecycle` case)
TARGET_PASS_S = 60
CLI = (sys.executable, "-m", "guestgate")
TARGET_P99_MS = 50
# What the pass did (services/lifecycle_scheduler.py PassResult); `left`: due, over its limit.
PASS_COUNTS = ("notified", "disabled", "deleted", "mails", "skipped", "left")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _one_pass(env: dict[str, str], day: datetime) -> dict[str, Any]:
    """One scheduler pass at `day`, as the worker runs it, timed."""
    runtime = build_runtime(from_env(env, create_secret_key=False), pool_size=2)
    try:
        webhooks = runtime.worker.webhooks
        run = None if webhooks is None else webhooks.lifecycle
        if run is None:
            raise RuntimeError("this runtime has no lifecycle scheduler")
        # The pass reads the runtime's clock, as the scheduler's tests move it.
        object.__setattr__(runtime, "now", lambda: day)
        cpu, started = _cpu(), time.perf_counter()
        result = await run()
        ended = time.perf_counter()
        return {
            "start": started,
            "end": ended,
            "pass_s": round(ended - started, 3),
            "pass_cpu_s": round(_cpu() - cpu, 3),
            **{f"pass_{k}": getattr(result, k, 0) for k in PASS_COUNTS},
        }
    finally:
        await runtime.close()


def _window(path: Path, start: float, end: float) -> dict[str, Any]:
    """The invites due between `start` and `end`: rate, percentiles, errors."""
    latencies: list[float] = []
    errors = non2xx = 0
    for line in path.read_text().splitlines():
        due_s, latency_s, status_s = line.split()
        if not start <= float(due_s) <= end:
            continue
        status = int(status_s)
        if status == 0:
            errors += 1
            continue
        non2xx += not 200 <= status < 300
        latencies.append(float(latency_s))
    latencies.sort()

    def ms(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e3, 2)

    seconds = max(end - start, 1e-9)
    return {
        "during_requests": len(latencies) + errors,
        "during_rps": round(len(latencies) / seconds, 1),
        "during_p50_ms": ms(50),
        "during_p99_ms": ms(99),
        "during_max_ms": round(latencies[-1] * 1e3, 2) if latencies else 0.0,
        "during_errors": errors,
        "during_non2xx": non2xx,
    }


def _create_policy(server: Guestgate, tenant: str) -> None:
    policy = server.workdir / "lifecycle-policy.json"
    policy.write_text(json.dumps(POLICY))
    subprocess.run(
        [*CLI, "lifecycle", "create", "--tenant", tenant, "--policy", str(policy), "--confirm"],
        env=server.env,
        cwd=server.workdir,
        capture_output=True,
        check=True,
    )


def lifecycle_load(run: CaseRun) -> dict[str, Any]:
    args = run.args
    if args.postgres:
        raise SystemExit("lifecycle-load seeds SQLite directly; run it without --postgres")
    os.makedirs(run.workdir, exist_ok=True)
    with run.guestgate() as server:
        tenant = server.credentials()["TenantID"]
        started = time.perf_counter()
        seed_guests(run.workdir / "guestgate.db", tenant, args.guests)
        seeded = time.perf_counter() - started
        _create_policy(server, tenant)
        day = (utcnow() + timedelta(days=DAYS_AHEAD)).replace(hour=1, tzinfo=UTC)
        samples = run.workdir / "invite-samples.txt"
        load: dict[str, Any] = {}
        body = '{"invitedUserEmailAddress":"lc-' + str(os.getpid()) + '-{n}@bench.example"}'
        driver = threading.Thread(
            target=lambda: load.update(
                run_openloop(
                    server,
                    path="/api/InviteGuest",
                    token=server.token(),
                    body=body,
                    rate=args.rate,
                    duration=args.duration,
                    samples=str(samples),
                )
            )
        )
        load_start = time.perf_counter()
        driver.start()
        time.sleep(WARMUP)
        figures = asyncio.run(_one_pass(server.env, day))
        driver.join()
    during = _window(samples, figures["start"], figures["end"])
    return {
        "guests": args.guests,
        "seed_s": round(seeded, 1),
        "pass_s": figures["pass_s"],
        "pass_cpu_s": figures["pass_cpu_s"],
        "pass_target_s": TARGET_PASS_S,
        **{f"pass_{k}": figures[f"pass_{k}"] for k in PASS_COUNTS},
        "rate": args.rate,
        **during,
        "p99_target_ms": TARGET_P99_MS,
        "met": figures["pass_cpu_s"] <= TARGET_PASS_S and during["during_p99_ms"] <= TARGET_P99_MS,
        "covered": figures["end"] <= load_start + args.duration,
        **{f"load_{k}": v for k, v in load.items() if isinstance(v, int | float)},
    }
