"""`python -m bench`: start guestgate as a user would and measure it with wrk.

Each case runs on a fresh temporary SQLite database (or PostgreSQL with --postgres URL) with
`guestgate serve --workers 2` and the settings `make run` uses (INFO logging, one JSON access
line per request); wrk drives the load from its own process. The table shows
throughput, latency percentiles, errors, the server's CPU and the peak RSS of each worker, and
the load generator's CPU. Results go to bench/results/<time>.json with the machine description.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import report
from bench.cases import CASES, DEFAULT_CASES, NO_QUIET_VARIANT, PAIRED, SINGLE_RUN
from bench.harness import HERE, LOCAL_POSTGRES, CaseRun


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--cases",
        default=",".join(DEFAULT_CASES),
        help=f"comma list of {', '.join(CASES)} (users, soak, bulk, bulk-pg, bulk-graph, reports,"
        " console, lifecycle and lifecycle-load are not in the default list)",
    )
    p.add_argument(
        "--soak-seconds", type=int, default=600, help="length of the memory and soak cases"
    )
    p.add_argument("--duration", type=int, default=30, help="seconds per run")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--runs", type=int, default=3, help="runs per case; the table shows medians")
    p.add_argument(
        "--guests",
        type=int,
        default=1_000_000,
        help="guests seeded for users-1m, console, lifecycle and lifecycle-load (users seeds"
        " 2,000 through the API)",
    )
    p.add_argument("--page", type=int, default=5000, help="the deep page users-1m reads")
    p.add_argument(
        "--bulk-rows", type=int, default=100_000, help="rows of the bulk and bulk-pg cases' file"
    )
    p.add_argument(
        "--bulk-graph-rows", type=int, default=2000, help="rows of the bulk-graph case's file"
    )
    p.add_argument(
        "--report-invitations",
        type=int,
        default=1_000_000,
        help="invitations seeded for the reports case",
    )
    p.add_argument(
        "--report-calls", type=int, default=100, help="calls of each report the reports case times"
    )
    p.add_argument(
        "--console-rate", type=float, default=50.0, help="console's fixed pages/s of each kind"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=500.0,
        help="requests/s of invite-500, memory and lifecycle-load's invites",
    )
    p.add_argument(
        "--email-rate", type=float, default=1000.0, help="invite-email's fixed invites/s"
    )
    p.add_argument(
        "--users-rate", type=float, default=200.0, help="users-1m's fixed-rate requests/s"
    )
    p.add_argument(
        "--exchange-rate",
        type=float,
        default=1000.0,
        help="code-exchange's fixed requests/s (its codes, rate x duration, are made first)",
    )
    p.add_argument(
        "--postgres",
        help="run every case on PostgreSQL: a server URL; each run gets a new database on it"
        f" (invite-pg always does, by default on {LOCAL_POSTGRES})",
    )
    p.add_argument(
        "--quiet-logs",
        action="store_true",
        help="also run every case with GUESTGATE_LOG_LEVEL=WARNING (no access lines),"
        " alternating with the default, and print it beside as <case>:quiet",
    )
    p.add_argument("--out", default=str(HERE / "results"), help="directory for the JSON")
    return p


def plan(names: list[str], *, quiet_logs: bool) -> list[list[tuple[str, str, bool]]]:
    """Groups of (label, case, quiet logs) whose runs alternate: each case with its quiet-logs
    variant if asked for, and the peer in the group of the case it is compared with."""
    groups: dict[str, list[tuple[str, str, bool]]] = {}
    for name in names:
        group = groups.setdefault(PAIRED.get(name, name), [])
        if PAIRED.get(name) and not group:
            group += plan([PAIRED[name]], quiet_logs=quiet_logs)[0]
        if any(case == name for _, case, _ in group):
            continue
        group.append((name, name, False))
        if quiet_logs and name not in NO_QUIET_VARIANT:
            group.append((f"{name}:quiet", name, True))
    return list(groups.values())


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    names = [c for c in args.cases.split(",") if c]
    for name in names:
        if name not in CASES:
            p.error(f"unknown case {name!r}")
    results: dict[str, dict[str, Any]] = {}
    all_runs: dict[str, list[dict[str, Any]]] = {}
    for group in plan(names, quiet_logs=args.quiet_logs):
        # Runs of one group alternate, so a drift of the machine falls on all of them alike.
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in group}
        for _ in range(1 if group[0][1] in SINGLE_RUN else args.runs):
            for label, name, quiet in group:
                with tempfile.TemporaryDirectory(prefix="guestgate-bench-") as tmp:
                    runs[label].append(CASES[name](CaseRun(args, Path(tmp), quiet_logs=quiet)))
        for label, _, _ in group:
            all_runs[label] = runs[label]
            results[label] = report.median_of(runs[label])
            print(f"{label}: done", file=sys.stderr, flush=True)
    print(report.table(results))
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    path = report.write(Path(args.out), settings=settings, results=results, runs=all_runs)
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
