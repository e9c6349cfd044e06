"""`python -m bench`: start guestgate as a user would and measure it with wrk.

Each case runs on a fresh temporary SQLite database (or PostgreSQL with --postgres URL) with
`guestgate serve --workers 2`; wrk drives the load from its own process. The table shows
throughput, latency percentiles, errors, the server's CPU and the peak RSS of each worker, and
the load generator's CPU. Results go to bench/results/<time>.json with the machine description.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = (
    "start",
    "token",
    "invite",
    "invite-500",
    "invite-email",
    "drain",
    "invite-pg",
    "redeem",
    "users",
    "users-1m",
    "memory",
    "soak",
)
# Every row of the targets in docs/performance.md; `users` and `soak` are extras.
DEFAULT_CASES = (
    "start",
    "token",
    "invite",
    "invite-500",
    "invite-email",
    "drain",
    "invite-pg",
    "redeem",
    "users-1m",
    "memory",
)
SINGLE_RUN = ("memory", "soak")  # ten minutes each: one run, its samples show the trend
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Any:
    """A new, empty database on the server at `server_url`, dropped afterwards."""
    import uuid

    import psycopg

    name = f"guestgate_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Guestgate:
    """`guestgate serve --workers 2` on its own database, in its own directory."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None,
        smtp_url: str | None,
        inprocess_worker: bool = True,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTGATE_")}
        self.env.update(
            {
                "GUESTGATE_DATABASE_URL": database_url or f"sqlite:///{workdir}/guestgate.db",
                "GUESTGATE_PUBLIC_URL": self.base,
                "GUESTGATE_PORT": str(self.port),
                "GUESTGATE_LOG_LEVEL": "WARNING",
                "GUESTGATE_SECRET_KEY_FILE": str(workdir / "secret.key"),
                "GUESTGATE_MAIL_DIR": str(workdir / "mail"),
            }
        )
        if smtp_url:
            self.env["GUESTGATE_SMTP_URL"] = smtp_url
        if not inprocess_worker:
            self.env["GUESTGATE_INPROCESS_WORKER"] = "false"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds = 0.0

    def start(self) -> None:
        out = (self.workdir / "serve.out").open("w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "guestgate", "serve", "--workers", "2"],
            env=self.env,
            cwd=self.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - started < 60:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=1) as answer:
                    if answer.status == 200:
                        self.ready_seconds = time.monotonic() - started
                        self.wait_for_all_workers()
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError((self.workdir / "serve.out").read_text()[-2000:])

    def wait_for_all_workers(self, workers: int = 2) -> None:
        """`/readyz` answers once one worker is up; load must not start before all listen.

        Each worker listens on its own socket (SO_REUSEPORT), so count listening sockets
        on the port in /proc/net/tcp (state 0A).
        """
        port = f":{self.port:04X} "
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
            listening = [ln for ln in lines if port in ln and ln.split()[3] == "0A"]
            if len(listening) >= workers:
                return
            time.sleep(0.02)
        raise RuntimeError(f"fewer than {workers} workers listen on port {self.port}")

    def credentials(self) -> dict[str, str]:
        text = (self.workdir / "serve.out").read_text()
        return dict(re.findall(r"^\s+(TenantID|AppID|AppSecret)\s+(\S+)", text, re.M))

    def token_form(self) -> tuple[str, str]:
        creds = self.credentials()
        body = (
            f"grant_type=client_credentials&client_id={creds['AppID']}"
            f"&client_secret={creds['AppSecret']}&scope=https://graph.microsoft.com/.default"
        )
        return f"/{creds['TenantID']}/oauth2/v2.0/token", body

    def token(self) -> str:
        path, body = self.token_form()
        request = urllib.request.Request(
            self.base + path,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request) as answer:
            return str(json.load(answer)["access_token"])

    def post_json(self, path: str, payload: Any, token: str) -> Any:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def workers(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def sample(workers: list[psutil.Process], started: float) -> dict[str, Any]:
    """RSS and open file descriptors of each server process now (None once it is gone)."""

    def rss(p: psutil.Process) -> float | None:
        with contextlib.suppress(psutil.NoSuchProcess):
            return round(p.memory_info().rss / 2**20, 1)
        return None

    def fds(p: psutil.Process) -> int | None:
        with contextlib.suppress(psutil.NoSuchProcess):
            return p.num_fds()
        return None

    return {
        "t": round(time.monotonic() - started, 1),
        "rss_mib": [rss(p) for p in workers],
        "fds": [fds(p) for p in workers],
    }


@dataclass
class Watched:
    """What `watch` saw of the server and the load generator while the generator ran."""

    seconds: float
    server_cpu: float  # CPU seconds of every server process during the run
    generator_cpu: float
    peaks: list[int]  # peak RSS of each server process, bytes
    samples: list[dict[str, Any]]

    def figures(self, seconds: float) -> dict[str, Any]:
        return {
            "server_cpu": self.server_cpu / seconds,
            "generator_cpu": self.generator_cpu / seconds,
            "peak_rss_mib": [round(v / 2**20, 1) for v in self.peaks],
            "samples": self.samples,
        }


def watch(
    generator: subprocess.Popen[str],
    workers: list[psutil.Process],
    *,
    sample_every: float,
    probe: Callable[[], int] | None = None,
) -> Watched:
    """Until the generator exits: peak RSS of each server process, both sides' CPU, and
    every `sample_every` seconds a sample (RSS, descriptors, and `probe()` if given)."""
    cpu_before = {p.pid: sum(p.cpu_times()[:2]) for p in workers}
    peaks = {p.pid: p.memory_info().rss for p in workers}
    process = psutil.Process(generator.pid)
    generator_cpu = 0.0
    samples: list[dict[str, Any]] = []
    started = next_sample = time.monotonic()
    while generator.poll() is None:
        for p in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                peaks[p.pid] = max(peaks[p.pid], p.memory_info().rss)
        with contextlib.suppress(psutil.NoSuchProcess):
            generator_cpu = sum(process.cpu_times()[:2])
        if time.monotonic() >= next_sample:
            next_sample += sample_every
            samples.append(sample(workers, started))
            if probe is not None:
                samples[-1]["delivered"] = probe()
        time.sleep(0.2)
    server_cpu = 0.0
    for p in workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            server_cpu += sum(p.cpu_times()[:2]) - cpu_before[p.pid]
    return Watched(
        seconds=time.monotonic() - started,
        server_cpu=server_cpu,
        generator_cpu=generator_cpu,
        peaks=list(peaks.values()),
        samples=samples,
    )


def run_wrk(
    server: Guestgate,
    *,
    url: str,
    script: str,
    args: list[str],
    connections: int,
    duration: int,
    sample_every: float = 5.0,
) -> dict[str, Any]:
    """Run wrk once; the numbers of its report plus CPU and memory of both sides.

    Every `sample_every` seconds the RSS and open file descriptors of each server process
    are recorded (`samples`), so long runs show whether either grows.
    """
    combined = HERE / f".{script}.run.lua"
    source = (HERE / script).read_text()
    if "function done(" not in source:
        source += "\n" + (HERE / "report.lua").read_text()
    combined.write_text(source)
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(combined),
        url,
    ]
    workers = server.workers()
    wrk = subprocess.Popen([*command, "--", *args], stdout=subprocess.PIPE, text=True)
    watched = watch(wrk, workers, sample_every=sample_every)
    output = wrk.stdout.read() if wrk.stdout else ""
    combined.unlink(missing_ok=True)
    match = re.search(r"WRK_JSON (\{.*\})", output)
    if match is None:
        raise RuntimeError(output)
    result = json.loads(match.group(1))
    seconds = result["duration_us"] / 1e6
    return {
        "rps": result["requests"] / seconds,
        "ok_rps": (result["requests"] - result["non2xx"]) / seconds,
        "requests": result["requests"],
        "non2xx": result["non2xx"],
        "errors": result["errors"],
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        **watched.figures(seconds),
        "status_5xx": result.get("status_5xx"),
    }


def run_openloop(
    server: Guestgate,
    *,
    path: str,
    token: str,
    body: str | None,
    rate: float,
    duration: int,
    sample_every: float = 5.0,
    probe: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """Requests at a fixed rate from `bench.openloop` in its own process, like run_wrk.

    `probe`, if given, is read at every sample (invite-email: messages delivered so far).
    """
    command = [
        sys.executable,
        "-m",
        "bench.openloop",
        server.base + path,
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--token",
        token,
        *(["--json", body] if body else []),
    ]
    workers = server.workers()
    generator = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    watched = watch(generator, workers, sample_every=sample_every, probe=probe)
    output = generator.stdout.read() if generator.stdout else ""
    match = re.search(r"OPENLOOP_JSON (\{.*\})", output)
    if match is None:
        raise RuntimeError(output)
    result = json.loads(match.group(1))
    ok = sum(v for k, v in result["statuses"].items() if k.startswith("2"))
    return {
        "rps": result["achieved_rate"],
        "ok_rps": ok / duration,
        "requests": result["completed"],
        "non2xx": result["completed"] - ok,
        "errors": result["errors"] + result["sent"] - result["completed"],
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        **watched.figures(watched.seconds),
        "status_5xx": sum(v for k, v in result["statuses"].items() if k.startswith("5")),
    }


def seed_guests(database_path: Path, tenant_id: str, count: int) -> None:
    """`count` guests written straight into SQLite (the API would take an hour for a million)."""
    import sqlite3
    import uuid

    conn = sqlite3.connect(database_path, timeout=60)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO users (id, tenant_id, user_type, display_name, mail, email_key,"
                " user_principal_name, external_user_state, creation_type, created_at)"
                " VALUES (?, ?, 'Guest', ?, ?, ?, ?, 'PendingAcceptance', 'Invitation', ?)",
                (
                    (
                        str(uuid.uuid4()),
                        tenant_id,
                        f"Seeded guest {i}",
                        f"seed{i:07d}@seed.example",
                        f"seed{i:07d}@seed.example",
                        f"seed{i:07d}_seed.example#EXT#@contoso.example",
                        f"2026-01-01T00:00:00.{i % 1_000_000:06d}Z"
                        if i < 1_000_000
                        else f"2026-01-02T00:00:00.{i % 1_000_000:06d}Z",
                    )
                    for i in range(count)
                ),
            )
    finally:
        conn.close()


def page_url(server: Guestgate, first: str, token: str, page: int) -> str:
    """Follow @odata.nextLink from `first` to the given page (1-based)."""
    url = first
    for _ in range(page - 1):
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as answer:
            url = json.load(answer)["@odata.nextLink"]
    return url


def case(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    sink = None
    smtp_url = None
    if name in ("invite-email", "drain"):
        from aiosmtpd.controller import Controller

        class Sink:
            count = 0

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                Sink.count += 1
                return "250 OK"

        port = free_port()
        sink = Controller(Sink(), hostname="127.0.0.1", port=port)
        sink.start()
        smtp_url = f"smtp://127.0.0.1:{port}"
    postgres = args.postgres or (LOCAL_POSTGRES if name == "invite-pg" else None)
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(fresh_postgres(postgres)) if postgres else None
        return run_case(name, args, workdir, database_url, smtp_url, sink)


def run_case(
    name: str,
    args: argparse.Namespace,
    workdir: Path,
    database_url: str | None,
    smtp_url: str | None,
    sink: Any,
) -> dict[str, Any]:
    # drain: the server only queues; one `guestgate worker` then empties the queue.
    server = Guestgate(
        workdir, database_url=database_url, smtp_url=smtp_url, inprocess_worker=name != "drain"
    )
    server.start()
    try:
        if name == "start":
            return {"ready_s": server.ready_seconds}
        token = server.token()
        common = {"connections": args.connections, "duration": args.duration}
        if name == "token":
            path, body = server.token_form()
            return run_wrk(server, url=server.base, script="form.lua", args=[path, body], **common)
        if name in ("invite", "invite-pg"):
            return run_wrk(
                server, url=server.base, script="invite.lua", args=[token, "false"], **common
            )
        if name == "invite-email":
            # At a fixed rate: does delivery keep up, i.e. does the outbox backlog stay flat?
            def delivered() -> int:
                return int(type(sink.handler).count)  # type: ignore[union-attr]

            result = run_openloop(
                server,
                path="/api/InviteGuest",
                token=token,
                body='{"invitedUserEmailAddress":"mail-'
                + str(os.getpid())
                + '-{n}@bench.example","sendInvitationMessage":true}',
                rate=args.email_rate,
                duration=args.duration,
                sample_every=1.0,
                probe=delivered,
            )
            backlog = [round(args.email_rate * x["t"]) - x["delivered"] for x in result["samples"]]
            result["emails_delivered"] = delivered()
            result["backlog_after_warmup"] = backlog[len(backlog) // 5] if backlog else None
            result["backlog_end"] = result["requests"] - result["emails_delivered"]
            return result
        if name == "redeem":
            link = server.post_json(
                "/api/InviteGuest", {"invitedUserEmailAddress": "redeem@bench.example"}, token
            )
            return run_wrk(
                server, url=link["inviteRedeemUrl"], script="bearer.lua", args=[], **common
            )
        if name == "invite-500":
            return run_openloop(
                server,
                path="/api/InviteGuest",
                token=token,
                body='{"invitedUserEmailAddress":"open-'
                + str(os.getpid())
                + '-{n}@bench.example"}',
                rate=args.rate,
                duration=args.duration,
            )
        if name == "users-1m":
            if args.postgres:
                raise SystemExit("users-1m seeds SQLite directly; run it without --postgres")
            seed_guests(workdir / "guestgate.db", server.credentials()["TenantID"], args.guests)
            first = f"{server.base}/v1.0/users?$filter=userType%20eq%20'Guest'&$top=100"
            result = run_wrk(server, url=first, script="bearer.lua", args=[token], **common)
            deep = page_url(server, first, token, args.page)
            later = run_wrk(server, url=deep, script="bearer.lua", args=[token], **common)
            result.update({f"deep_{k}": v for k, v in later.items() if k != "samples"})
            result["page"] = args.page
            # Latency of one query, not of a queue: the same pages at a fixed rate.
            for prefix, url in (("ol_", first), ("ol_deep_", deep)):
                paced = run_openloop(
                    server,
                    path=url.removeprefix(server.base),
                    token=token,
                    body=None,
                    rate=args.users_rate,
                    duration=args.duration,
                )
                result.update({prefix + k: v for k, v in paced.items() if k != "samples"})
            return result
        if name == "memory":
            result = run_openloop(
                server,
                path="/api/InviteGuest",
                token=token,
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
        if name == "drain":
            queued = run_wrk(
                server, url=server.base, script="invite.lua", args=[token, "true"], **common
            )
            return drain(server, sink_count=lambda: type(sink.handler).count, queued=queued)  # type: ignore[union-attr]
        if name == "soak":
            path, body = server.token_form()
            link = server.post_json(
                "/api/InviteGuest", {"invitedUserEmailAddress": "soak@bench.example"}, token
            )
            redeem = link["inviteRedeemUrl"].removeprefix(server.base)
            result = run_wrk(
                server,
                url=server.base,
                script="soak.lua",
                args=[token, path, body, redeem],
                connections=args.connections,
                duration=args.soak_seconds,
                sample_every=max(1.0, args.soak_seconds / 120),
            )
            result.update(drift(result["samples"]))
            return result
        if name == "users":
            for i in range(2000):
                server.post_json(
                    "/api/InviteGuest", {"invitedUserEmailAddress": f"u{i}@users.example"}, token
                )
            url = f"{server.base}/v1.0/users?$filter=userType%20eq%20'Guest'&$top=100"
            return run_wrk(server, url=url, script="bearer.lua", args=[token], **common)
        raise ValueError(name)
    finally:
        server.stop()
        if sink is not None:
            sink.stop()


def drain(server: Guestgate, *, sink_count: Any, queued: dict[str, Any]) -> dict[str, Any]:
    """Start one `guestgate worker` on the queue the invites left and time until it is empty.

    wrk counts the answers it read; invites still in flight when it stopped may have been
    queued too, so at least `total` messages arrive.
    """
    total = int(queued["requests"] - queued["non2xx"])
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
        while sink_count() < total and time.monotonic() - started < 600:
            with contextlib.suppress(psutil.NoSuchProcess):
                cpu = sum(process.cpu_times()[:2])
            if first is None and sink_count() > 0:
                first, cpu_at_first = (time.monotonic(), sink_count()), cpu
            time.sleep(0.02)
        ended = time.monotonic()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert first is not None, "the worker delivered nothing"
    seconds = max(ended - first[0], 1e-6)  # the worker's start-up is not delivery time
    return {
        "queued": total,
        "delivered": sink_count(),
        "emails_per_s": (sink_count() - first[1]) / seconds,
        "worker_cpu": (cpu - cpu_at_first) / seconds,
    }


def drift(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """How RSS and file descriptors moved after the first fifth of the run (the warm-up)."""
    if len(samples) < 5:
        return {}
    settled = samples[len(samples) // 5 :]
    first, last = settled[0], settled[-1]
    span = max(last["t"] - first["t"], 1e-9)
    rss_growth = [
        None if a is None or b is None else round((b - a) / span * 600, 1)
        for a, b in zip(first["rss_mib"], last["rss_mib"], strict=True)
    ]
    return {
        "rss_after_warmup_mib": first["rss_mib"],
        "rss_end_mib": last["rss_mib"],
        "rss_growth_per_10min_mib": rss_growth,
        "fds_after_warmup": first["fds"],
        "fds_end": last["fds"],
    }


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, int | float):
            merged[key] = statistics.median(r[key] for r in runs)
        else:
            merged[key] = value
    return merged


def row(label: str, r: dict[str, Any]) -> str:
    return (
        f"{label:<13}{r['rps']:>9.0f}{r['ok_rps']:>9.0f}{r['p50_ms']:>7.1f}m{r['p90_ms']:>7.1f}m"
        f"{r['p99_ms']:>7.1f}m{r['max_ms']:>8.1f}m{r['errors']:>6}{r['server_cpu']:>9.2f}"
        f"{r['generator_cpu']:>9.2f}"
    )


def table(results: dict[str, dict[str, Any]]) -> str:
    head = (
        f"{'case':<13}{'req/s':>9}{'ok/s':>9}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>9}{'err':>6}"
        f"{'srv cpu':>9}{'gen cpu':>9}  peak RSS MiB"
    )
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        if "emails_per_s" in r:
            lines.append(
                f"{name:<13}{r['emails_per_s']:>9.0f} emails/s by one worker"
                f" ({r['delivered']:.0f} messages; worker CPU {r['worker_cpu']:.2f})"
            )
            continue
        if "rps" not in r:
            lines.append(f"{name:<13}ready in {r['ready_s']:.2f} s")
            continue
        lines.append(row(name, r) + f"  {r['peak_rss_mib']}")
        for prefix, label in (
            ("deep_", f"  page {r.get('page')}"),
            ("ol_", "  fixed rate"),
            ("ol_deep_", f"  … page {r.get('page')}"),
        ):
            if prefix + "rps" in r:
                lines.append(row(label, {k[len(prefix) :]: v for k, v in r.items()}))
        if "backlog_end" in r:
            lines.append(
                f"{'':<13}{r['emails_delivered']:.0f} emails delivered during the run; outbox"
                f" backlog {r['backlog_after_warmup']:.0f} after the first fifth,"
                f" {r['backlog_end']:.0f} at the end"
            )
        if r.get("rss_at_100k_mib"):
            lines.append(f"{'':<13}RSS after 100,000 invites: {r['rss_at_100k_mib']} MiB")
        if "rss_end_mib" in r:
            lines.append(
                f"{'':<13}5xx {r['status_5xx']}, RSS {r['rss_after_warmup_mib']} →"
                f" {r['rss_end_mib']} MiB ({r['rss_growth_per_10min_mib']} per 10 min),"
                f" fds {r['fds_after_warmup']} → {r['fds_end']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--cases",
        default=",".join(DEFAULT_CASES),
        help=f"comma list of {', '.join(CASES)} (users and soak are not in the default list)",
    )
    parser.add_argument(
        "--soak-seconds", type=int, default=600, help="length of the memory and soak cases"
    )
    parser.add_argument("--duration", type=int, default=30, help="seconds per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per case; the table shows medians"
    )
    parser.add_argument(
        "--guests",
        type=int,
        default=1_000_000,
        help="guests seeded for users-1m (users seeds 2,000 through the API)",
    )
    parser.add_argument("--page", type=int, default=5000, help="the deep page users-1m reads")
    parser.add_argument(
        "--rate", type=float, default=500.0, help="requests/s of invite-500 and memory"
    )
    parser.add_argument(
        "--email-rate", type=float, default=1000.0, help="invite-email's fixed invites/s"
    )
    parser.add_argument(
        "--users-rate", type=float, default=200.0, help="users-1m's fixed-rate requests/s"
    )
    parser.add_argument(
        "--postgres",
        help="run every case on PostgreSQL: a server URL; each run gets a new database on it"
        f" (invite-pg always does, by default on {LOCAL_POSTGRES})",
    )
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for the JSON")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    all_runs: dict[str, list[dict[str, Any]]] = {}
    for name in [c for c in args.cases.split(",") if c]:
        if name not in CASES:
            parser.error(f"unknown case {name!r}")
        runs = []
        for _ in range(1 if name in SINGLE_RUN else args.runs):
            with tempfile.TemporaryDirectory(prefix="guestgate-bench-") as tmp:
                runs.append(case(name, args, Path(tmp)))
        all_runs[name] = runs
        results[name] = median_of(runs)
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(table(results))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "time": stamp,
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "medians": results,
        "runs": all_runs,
    }
    path = out / f"{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
