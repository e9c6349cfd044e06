"""The load generators and the watcher: wrk for closed-loop load, `bench.openloop` for a fixed
rate, each in its own process, while the server's CPU, RSS and descriptors are recorded."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from bench.harness import HERE, ROOT, Server


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
    server: Server,
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
        **result.get("counts", {}),  # what a script counted itself (signin.lua: sign-ins)
    }


def run_openloop(
    server: Server,
    *,
    path: str,
    token: str,
    body: str | None,
    rate: float,
    duration: int,
    sample_every: float = 5.0,
    probe: Callable[[], int] | None = None,
    forms: str | None = None,
    samples: str | None = None,
) -> dict[str, Any]:
    """Requests at a fixed rate from `bench.openloop` in its own process, like run_wrk.

    `probe`, if given, is read at every sample (invite-email: messages delivered so far);
    `forms`, a file of form bodies, one per request (code-exchange: single-use codes);
    `samples`, a file for each request's due time, latency and status (lifecycle-load).
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
        *(["--forms", forms] if forms else []),
        *(["--samples", samples] if samples else []),
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
        # Failed exchanges and requests still unanswered at the end: all sent, none answered.
        "errors": result["sent"] - result["completed"],
        "unanswered": result.get("unanswered", 0),
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        **watched.figures(watched.seconds),
        "status_5xx": sum(v for k, v in result["statuses"].items() if k.startswith("5")),
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
