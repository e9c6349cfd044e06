"""Migration 0013 on a database with webhooks, on SQLite and PostgreSQL: the endpoints table
is rebuilt without its tenant foreign key and keeps every endpoint, delivery and log row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from guestgate.adapters.sql import migrate

AT = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_url_factory")
        url = factory()
    migrate.upgrade(url, "0012", from_snapshot=False)
    return url


def run(url: str, *statements: tuple[str, dict[str, object]]) -> list[list[tuple[object, ...]]]:
    engine = migrate.make_engine(url)
    try:
        with engine.begin() as conn:
            answers: list[list[tuple[object, ...]]] = []
            for sql, params in statements:
                found = conn.execute(sa.text(sql), params)
                answers.append([tuple(r) for r in found] if sql.startswith("SELECT") else [])
            return answers
    finally:
        engine.dispose()


def test_upgrade_keeps_endpoints_deliveries_and_their_log(url_at_0012: str) -> None:
    tenant, endpoint, event, delivery = (str(uuid.uuid4()) for _ in range(4))
    ids = {"t": tenant, "w": endpoint, "e": event, "d": delivery, "at": AT}
    run(
        url_at_0012,
        (
            "INSERT INTO tenants (id, name, invitation_lifetime_days, created_at)"
            " VALUES (:t, 'Contoso', 30, :at)",
            ids,
        ),
        (
            "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, enabled,"
            " cursor, created_at) VALUES (:w, :t, 'https://h.example/x', '[]', 's', true, 1, :at)",
            ids,
        ),
        (
            "INSERT INTO events (id, tenant_id, sequence, type, occurred_at, body)"
            " VALUES (:e, :t, 1, 'invitation.created', :at, '{}')",
            ids,
        ),
        (
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts,"
            " next_attempt_at, created_at) VALUES (:d, :w, :e, 'pending', 1, :at, :at)",
            ids,
        ),
        (
            "INSERT INTO webhook_attempts (delivery_id, endpoint_id, event_id, attempted_at,"
            " status_code, latency_ms) VALUES (:d, :w, :e, :at, 500, 3)",
            ids,
        ),
    )
    migrate.upgrade(url_at_0012)
    assert migrate.current_revision(url_at_0012) == migrate.HEAD
    endpoints, deliveries, attempts, _, after = run(
        url_at_0012,
        ("SELECT id, tenant_id, cursor FROM webhook_endpoints", {}),
        ("SELECT id, status FROM webhook_deliveries", {}),
        ("SELECT delivery_id, status_code FROM webhook_attempts", {}),
        # An endpoint of a tenant guestgate does not keep (Microsoft 365 mode) is allowed now.
        (
            "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, secret, enabled,"
            " cursor, created_at) VALUES (:w, :t, 'https://h.example/y', '[]', 's', true, 0, :at)",
            {"w": str(uuid.uuid4()), "t": str(uuid.uuid4()), "at": AT},
        ),
        ("SELECT COUNT(*) FROM webhook_endpoints", {}),
    )
    assert endpoints == [(endpoint, tenant, 1)]
    assert deliveries == [(delivery, "pending")]
    assert attempts == [(delivery, 500)]
    assert after == [(2,)]
