"""Recipes for tests/e2e/test_openapi.py: each documented answer of the bulk-invite routes
(/api/bulk/invitations and a job's status, results and cancel)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from guestgate.domain.apps import INVITE
from guestgate.web.bulk import BODY_BYTES
from guestgate.web.openapi_bulk import EXAMPLE_FILE, JOB, JOBS
from tests.e2e.server import Caller, Server

Recipe = Callable[[], httpx.Response]
CSV = {"content-type": "text/csv"}


def bulk_recipes(
    server: Server, tenant: str, reader: Caller, anonymous: Callable[..., httpx.Response]
) -> dict[tuple[str, str, int], Recipe]:
    """`reader` lacks User.Invite.All."""
    admin = Caller.new_app(server, tenant, INVITE)

    def upload() -> str:
        guest = f"bulk.{uuid.uuid4().hex[:10]}@example.com"
        return EXAMPLE_FILE.replace("alice@fabrikam.com", guest)

    def call(who: Caller, method: str, path: str, **kwargs: Any) -> Recipe:
        return lambda: who.request(method, path, **kwargs)

    created = admin.request("POST", JOBS, content=upload(), headers=CSV)
    assert created.status_code == 202, created.text
    job = JOB.replace("{job_id}", created.json()["id"])
    unknown = JOB.replace("{job_id}", str(uuid.uuid4()))
    recipes: dict[tuple[str, str, int], Recipe] = {
        (JOBS, "post", 202): lambda: admin.request("POST", JOBS, content=upload(), headers=CSV),
        (JOBS, "post", 200): lambda: admin.request(
            "POST", f"{JOBS}?checkOnly=true", content=upload(), headers=CSV
        ),
        (JOBS, "post", 400): call(
            admin, "POST", JOBS, content="version:v1.0\nEmail [inviteeEmail]\n", headers=CSV
        ),
        (JOBS, "post", 401): lambda: anonymous("POST", JOBS, content=upload(), headers=CSV),
        (JOBS, "post", 403): lambda: reader.request("POST", JOBS, content=upload(), headers=CSV),
        (JOBS, "post", 413): call(
            admin, "POST", JOBS, content=b"email\n" + b"a" * BODY_BYTES, headers=CSV
        ),
        (JOBS, "post", 415): call(admin, "POST", JOBS, json={}),
    }
    for suffix, method in (("", "get"), ("/results", "get"), ("/cancel", "post")):
        path, verb = f"{JOB}{suffix}", method.upper()
        recipes |= {
            (path, method, 200): call(admin, verb, f"{job}{suffix}"),
            (path, method, 400): call(admin, verb, f"{job}{suffix}?state=1"),
            (path, method, 401): lambda verb=verb, suffix=suffix: anonymous(verb, f"{job}{suffix}"),
            (path, method, 403): call(reader, verb, f"{job}{suffix}"),
            (path, method, 404): call(admin, verb, f"{unknown}{suffix}"),
        }
    recipes[f"{JOB}/cancel", "post", 413] = call(
        admin, "POST", f"{job}/cancel", content=b"{" + b" " * 2048 + b"}", headers=CSV
    )
    return recipes
