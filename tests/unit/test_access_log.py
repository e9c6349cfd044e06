"""The access line's short way out writes exactly what the logging path writes."""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from guestgate import logs


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """`logs.configure` writing into a buffer; the logging set-up restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logs._handler)
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    logs.configure("INFO")
    yield buffer
    root.handlers[:], root.level, logs._handler = saved


def through_logging(method: str | None, path: str, status: int, ms: float) -> None:
    logs.access_log.info("%s %s %s", method, path, status, extra={"status": status, "ms": ms})


@pytest.mark.parametrize("request_id", [None, "3f8e1c2a-0000-4000-8000-000000000000", 'a"b'])
@pytest.mark.parametrize(
    ("method", "path", "status", "ms"),
    [
        ("POST", "/api/InviteGuest", 201, 12.35),
        ("GET", '/v1.0/users/"x"\\ü€😀\n', 404, 0.1),
        (None, "/", 0, 1234567.89),
    ],
)
def test_access_line_is_the_logging_line_when_configured(
    stderr: io.StringIO,
    request_id: str | None,
    method: str | None,
    path: str,
    status: int,
    ms: float,
) -> None:
    token = logs.request_id_var.set(request_id)
    try:
        logs.log_access(method, path, status, ms)
        through_logging(method, path, status, ms)
    finally:
        logs.request_id_var.reset(token)
    short, usual = stderr.getvalue().splitlines()
    assert short.partition('"level"')[2] == usual.partition('"level"')[2]
    assert list(json.loads(short)) == list(json.loads(usual))
    assert json.loads(short)["msg"] == f"{method} {path} {status}"


def test_access_line_goes_through_logging_when_a_handler_is_added(stderr: io.StringIO) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logs.access_log.addHandler(handler)
    try:
        logs.log_access("GET", "/readyz", 200, 0.5)
    finally:
        logs.access_log.removeHandler(handler)
    assert [(r.getMessage(), r.status, r.ms) for r in records] == [("GET /readyz 200", 200, 0.5)]  # type: ignore[attr-defined]
    assert '"msg": "GET /readyz 200"' in stderr.getvalue()


def test_access_line_is_not_written_below_its_level(stderr: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    logs.log_access("GET", "/readyz", 200, 0.5)
    assert stderr.getvalue() == ""


def test_timestamp_matches_datetime_to_the_millisecond() -> None:
    rng = random.Random(22)
    moments = [rng.uniform(0, 4e9) for _ in range(20_000)]
    moments += [int(t) + f for t in moments[:2000] for f in (0.9999995, 0.0000005, 0.123)]
    for now in moments:
        assert logs.timestamp(now) == datetime.fromtimestamp(now, UTC).isoformat(
            timespec="milliseconds"
        )


def test_uvicorn_color_message_is_left_out_of_the_line(stderr: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]",
        42,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    line = json.loads(stderr.getvalue().splitlines()[-1])
    assert line["msg"] == "Started server process [42]"
    assert "color_message" not in line
    assert "\x1b" not in stderr.getvalue()
