"""`console`: the admin console's guest list and a guest's profile on a million guests.

The guests (each with one invitation, most with a last sign-in) are written straight into the
database as the reports case writes them (SQLite executemany, PostgreSQL COPY). An
administrator is made with the CLI (`user create`, `role assign`), and its console session is
stored as the console's sign-in stores one after the code exchange (the SHA-256 of a random
id, a tenant, the user, an expiry); the browser's cookie then carries the id. Each page kind is
then asked for at a fixed rate (`--console-rate`, 50 pages/s) for `--duration` seconds, open
loop (latency from when each request was due), one kind after another:

- guests: the first page, no filter;
- state, domain, text, requester: the first page with that filter (values rotate);
- profile: a guest's profile page (guests rotate).

Targets (docs/console.md): the guests page p99 <= 100 ms filtered and unfiltered, the profile
p99 <= 50 ms.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from bench.cases.reports import seed
from bench.harness import CaseRun, Guestgate
from bench.openloop import Connection
from guestgate.domain.timestamps import iso

ADMIN = "bench.admin@contoso.example"
TARGETS_MS = {"profile": 50}  # every guests page kind: 100
KINDS = ("guests", "state", "domain", "text", "requester", "profile")


def _cli(server: Guestgate, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "guestgate", *args],
        env=server.env,
        cwd=server.workdir,
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def _sql(server: Guestgate, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the service's database (`?` placeholders) and commit."""
    url = server.env["GUESTGATE_DATABASE_URL"]
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)
        try:
            with conn:
                return list(conn.execute(statement, params).fetchall())
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as pg, pg.cursor() as cur:
        cur.execute(statement.replace("?", "%s"), params)
        found = list(cur.fetchall()) if cur.description else []
        pg.commit()
        return found


def session_cookie(server: Guestgate, tenant: str) -> str:
    """An administrator's console session, stored as the console's sign-in stores it."""
    _cli(server, "user", "create", "--tenant", tenant, "--email", ADMIN, "--name", "Bench Admin")
    role = ("--role", "User administrator")
    _cli(server, "role", "assign", "--tenant", tenant, "--user", ADMIN, *role)
    [(user_id,)] = _sql(
        server, "SELECT id FROM users WHERE tenant_id = ? AND mail_key = ?", (tenant, ADMIN)
    )
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    _sql(
        server,
        "INSERT INTO console_sessions (session_hash, tenant_id, user_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            hashlib.sha256(session_id.encode()).hexdigest(),
            tenant,
            user_id,
            iso(now),
            iso(now + timedelta(hours=8)),
        ),
    )
    return f"gg_console={session_id}"


def paths(server: Guestgate, tenant: str) -> dict[str, list[str]]:
    """The URLs each page kind rotates through."""
    guests = f"/admin/{tenant}/guests"
    ids = [
        r[0]
        for r in _sql(
            server,
            "SELECT id FROM users WHERE tenant_id = ? AND user_type = 'Guest' LIMIT 500",
            (tenant,),
        )
    ]
    return {
        "guests": [guests],
        "state": [f"{guests}?state={s}" for s in ("Pending", "Accepted", "Declined", "Revoked")],
        "domain": [f"{guests}?domain=d{n:03d}.example" for n in range(0, 1000, 37)],
        "text": [f"{guests}?q={quote(t)}" for t in ("seed00042", "guest 77", "d512", "nobody")],
        "requester": [f"{guests}?requester=r{n:03d}@contoso.example" for n in range(0, 200, 13)],
        "profile": [f"{guests}/{i}" for i in ids],
    }


async def fixed_rate(
    base: str, urls: list[str], cookie: str, *, rate: float, duration: float
) -> dict[str, Any]:
    """GET the URLs in turn at `rate` a second, open loop; latencies from when each was due."""
    split = urlsplit(base)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    idle: list[Connection] = []
    latencies: list[float] = []
    statuses: collections.Counter[int] = collections.Counter()
    errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(n: int, due: float) -> None:
        nonlocal errors
        connection = None
        while idle and connection is None:
            candidate = idle.pop()
            if candidate.reusable(time.perf_counter()):
                connection = candidate
            else:
                candidate.writer.close()
        request = (
            f"GET {urls[n % len(urls)]} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
        try:
            if connection is None:
                reader, writer = await asyncio.open_connection(host, port)
                connection = Connection(reader, writer)
            status = await connection.exchange(request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            return
        connection.last_used = time.perf_counter()
        latencies.append(connection.last_used - due)
        statuses[status] += 1
        idle.append(connection)

    total = max(1, int(rate * duration))
    started = time.perf_counter()
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, started + n / rate))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    elapsed = time.perf_counter() - started
    for connection in idle:
        connection.writer.close()
    latencies.sort()

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e3, 1)

    return {
        "sent": total,
        "ok": statuses.get(200, 0),
        "not_ok": total - statuses.get(200, 0),
        "errors": errors,
        "rate": round(len(latencies) / elapsed, 1),
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "max_ms": round(latencies[-1] * 1e3, 1) if latencies else 0.0,
    }


def _get(server: Guestgate, path: str, cookie: str) -> str:
    request = urllib.request.Request(server.base + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            assert answer.status == 200, answer.status
            assert "/signin" not in answer.url, answer.url
            return str(answer.read().decode())
    except urllib.error.HTTPError as exc:
        log = (server.workdir / "serve.out").read_text()[-3000:]
        raise RuntimeError(f"GET {path}: {exc.code}\n{log}") from None


def console(run: CaseRun) -> dict[str, Any]:
    args = run.args
    with run.guestgate() as server:
        tenant = server.credentials()["TenantID"]
        result: dict[str, Any] = {
            "guests": args.guests,
            "seed_s": round(seed(server, tenant, args.guests), 1),
            "console_rate": args.console_rate,
        }
        cookie = session_cookie(server, tenant)
        urls = paths(server, tenant)
        first = _get(server, urls["guests"][0], cookie)
        assert f"<strong>{args.guests + 0}</strong> guest" in first, first[-2000:]
        worst: dict[str, float] = {}
        for kind in KINDS:
            for url in urls[kind]:  # each URL once, unmeasured: the caches as in use
                _get(server, url, cookie)
            figures = asyncio.run(
                fixed_rate(
                    server.base,
                    urls[kind],
                    cookie,
                    rate=args.console_rate,
                    duration=args.duration,
                )
            )
            result.update({f"{kind}_{k}": v for k, v in figures.items()})
            worst[kind] = figures["p99_ms"]
        result["pages_not_ok"] = sum(result[f"{k}_not_ok"] for k in KINDS)
        result["worst_list_p99_ms"] = max(v for k, v in worst.items() if k != "profile")
        result["profile_target_ms"] = TARGETS_MS["profile"]
        result["list_target_ms"] = 100
        return result
