"""`GET /v1.0/users` on a million guests: page 1 and a deep page, saturated and at a fixed
rate (`--users-rate`)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from bench.harness import CaseRun, Guestgate
from bench.load import run_openloop, run_wrk
from guestgate.adapters.sql.users import INSERT_USER


def seed_guests(database_path: Path, tenant_id: str, count: int) -> None:
    """`count` guests written straight into SQLite with the user repository's own INSERT
    (the API would take an hour for a million)."""
    conn = sqlite3.connect(database_path, timeout=60)
    try:
        with conn:
            conn.executemany(
                INSERT_USER,
                (
                    {
                        "id": str(uuid.uuid4()),
                        "tenant_id": tenant_id,
                        "user_type": "Guest",
                        "display_name": f"Seeded guest {i}",
                        "mail": f"seed{i:07d}@seed.example",
                        "email_key": f"seed{i:07d}@seed.example",
                        "upn": f"seed{i:07d}_seed.example#EXT#@contoso.example",
                        "state": "PendingAcceptance",
                        "state_at": None,
                        "creation_type": "Invitation",
                        "created_at": f"2026-01-01T00:00:00.{i % 1_000_000:06d}Z"
                        if i < 1_000_000
                        else f"2026-01-02T00:00:00.{i % 1_000_000:06d}Z",
                        "display_name_key": f"seeded guest {i}",
                        "mail_key": f"seed{i:07d}@seed.example",
                        "upn_key": f"seed{i:07d}_seed.example#ext#@contoso.example",
                    }
                    for i in range(count)
                ),
            )
    finally:
        conn.close()


def page_url(server: Guestgate, first: str, token: str, page: int) -> str:
    """Follow @odata.nextLink from `first` to the given page (1-based)."""
    url = first
    for _ in range(page - 1):
        url = server.get_json(url, token)["@odata.nextLink"]
    return url


def users_1m(run: CaseRun) -> dict[str, Any]:
    args = run.args
    if args.postgres:
        raise SystemExit("users-1m seeds SQLite directly; run it without --postgres")
    with run.guestgate() as server:
        token = server.token()
        seed_guests(run.workdir / "guestgate.db", server.credentials()["TenantID"], args.guests)
        first = f"{server.base}/v1.0/users?$filter=userType%20eq%20'Guest'&$top=100"
        result = run_wrk(server, url=first, script="bearer.lua", args=[token], **run.closed_loop)
        deep = page_url(server, first, token, args.page)
        later = run_wrk(server, url=deep, script="bearer.lua", args=[token], **run.closed_loop)
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
