"""An open-loop load generator: requests start at a fixed rate, whether or not earlier ones
have finished, and each latency is measured from when its request was *due* (so a stalled
server cannot hide its queue: no coordinated omission).

`python -m bench.openloop URL --rate 500 --duration 30 --token T --json BODY_TEMPLATE` prints
one JSON line: sent, completed, statuses, and latency percentiles in microseconds. Bodies are
the template with `{n}` replaced by a running number (unique addresses); with `--forms FILE`
request n posts line n of the file as a form instead (single-use codes). With `--samples FILE`
every request is also written to FILE as a line `due latency status` (seconds of the system's
monotonic clock, `time.perf_counter`, which every process shares; latency -1 and status 0 for
a request that got no answer), so a caller can take the figures of a window of the run.
Raw asyncio streams over keep-alive connections (uvloop when installed): about 50 µs of CPU
per request. At most `--connections` are open at once (as a browser or an HTTP client pool
caps them); a request due while all are busy waits for one, and that wait counts in its
latency. Without the cap a server that falls behind makes the driver open a socket per
request until it runs out of descriptors.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

KEEPALIVE_EXPIRY = 20.0  # below the server's 30 s keep-alive timeout, as HTTP clients do


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.perf_counter()

    def reusable(self, now: float) -> bool:
        """Not closed by the server and not idle long enough for it to close it soon."""
        return not self.reader.at_eof() and now - self.last_used < KEEPALIVE_EXPIRY

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = f"Host: {host}:{port}\r\n"
    if args.token:
        headers += f"Authorization: Bearer {args.token}\r\n"

    forms: list[str] = args.form_lines

    def request(n: int) -> bytes:
        if forms:
            body, kind = forms[n].encode(), "application/x-www-form-urlencoded"
        elif args.json is not None:
            body, kind = args.json.replace("{n}", str(n)).encode(), "application/json"
        else:
            return f"GET {path} HTTP/1.1\r\n{headers}\r\n".encode()
        return (
            f"POST {path} HTTP/1.1\r\n{headers}Content-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    idle: list[Connection] = []
    latencies: list[float] = []
    samples: list[tuple[float, float, int]] = []  # (due, latency, status) with --samples
    keep = bool(args.samples)
    statuses: collections.Counter[int] = collections.Counter()
    errors = 0
    tasks: set[asyncio.Task[None]] = set()
    slots = asyncio.Semaphore(args.connections)

    unanswered = 0

    async def one(n: int, due: float) -> None:
        nonlocal unanswered
        try:
            async with slots:
                await exchange(n, due)
        except asyncio.CancelledError:  # still waiting when the run ended
            unanswered += 1
            if keep:
                samples.append((due, -1.0, 0))

    async def exchange(n: int, due: float) -> None:
        nonlocal errors
        connection = None
        while idle and connection is None:
            candidate = idle.pop()
            if candidate.reusable(time.perf_counter()):
                connection = candidate
            else:
                candidate.writer.close()
        try:
            if connection is None:
                reader, writer = await asyncio.open_connection(host, port)
                connection = Connection(reader, writer)
            status = await connection.exchange(request(n))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            if keep:
                samples.append((due, -1.0, 0))
            return
        connection.last_used = time.perf_counter()
        latencies.append(connection.last_used - due)
        if keep:
            samples.append((due, latencies[-1], status))
        statuses[status] += 1
        idle.append(connection)

    total = int(args.rate * args.duration)
    if forms and len(forms) < total:
        raise SystemExit(f"{args.forms} has {len(forms)} forms; the run needs {total}")
    started = time.perf_counter()
    for n in range(total):
        due = started + n / args.rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    for task in list(tasks):  # no answer 30 s after the last was due: counted as such
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    elapsed = time.perf_counter() - started
    for connection in idle:
        connection.writer.close()
    latencies.sort()

    def percentile(p: float) -> int:
        if not latencies:
            return 0
        return int(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6)

    if keep:
        lines = [f"{due:.6f} {latency:.6f} {status}\n" for due, latency, status in samples]
        await asyncio.to_thread(Path(args.samples).write_text, "".join(lines))
    return {
        "sent": total,
        "completed": len(latencies),
        "errors": errors,
        "unanswered": unanswered,
        "statuses": {str(k): v for k, v in statuses.items()},
        "achieved_rate": len(latencies) / elapsed,
        "p50_us": percentile(50),
        "p90_us": percentile(90),
        "p99_us": percentile(99),
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.openloop", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--token", help="bearer token")
    parser.add_argument("--json", help="POST this JSON body; {n} becomes a running number")
    parser.add_argument("--forms", help="POST line n of this file as request n's form body")
    parser.add_argument("--samples", help="write each request's due time, latency, status here")
    parser.add_argument(
        "--connections", type=int, default=1000, help="connections open at most (default 1000)"
    )
    args = parser.parse_args()
    args.form_lines = Path(args.forms).read_text().splitlines() if args.forms else []
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print("OPENLOOP_JSON " + json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
