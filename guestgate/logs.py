"""Structured JSON logs with the request id of the request being served.

Messages are written by our own code only with values we chose; access lines carry the path
without its query string, because redeem links carry tickets in the query.

Every request writes an access line, so those have a short way out: while the logging set-up
is still the one `configure` made, `log_access` writes the very line `JsonFormatter` would,
under the handler's lock, without a `LogRecord` and the logging machinery around it (~3 µs
a line instead of ~11 µs). With any other set-up (a handler or filter added, a test capturing logs)
it logs through `logging` like every other line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("guestgate.access")
# uvicorn adds `color_message`, its message again with ANSI colour escapes, to its records.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"color_message"}
_json_string = json.encoder.encode_basestring_ascii  # what json.dumps uses for a str
_handler: logging.StreamHandler[TextIO] | None = None  # the one `configure` installed
_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def timestamp(now: float) -> str:
    """`now` in UTC, ISO 8601 to the millisecond (`2026-01-01T00:00:00.123+00:00`)."""
    global _second
    second = int(now)
    microseconds = round((now - second) * 1e6)  # rounded as datetime.fromtimestamp rounds
    if microseconds >= 1_000_000:
        second, microseconds = second + 1, microseconds - 1_000_000
    if second != _second[0]:
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{microseconds // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str) -> None:
    global _handler
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _handler = handler
    # uvicorn's access log would print query strings (tickets); ours does not.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def _direct_handler() -> logging.StreamHandler[TextIO] | None:
    """`configure`'s handler if an access record would reach it and nothing else."""
    handler = _handler
    if handler is None or handler.filters or handler.level > logging.INFO or access_log.filters:
        return None
    logger: logging.Logger | None = access_log
    while logger is not None and logger is not logging.root:
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    return handler if logging.root.handlers == [handler] else None


def log_access(method: object, path: str, status: int, ms: float) -> None:
    """One INFO line of `guestgate.access`: `"<method> <path> <status>"` with `status`, `ms`."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    handler = _direct_handler()
    if handler is not None:
        request_id = request_id_var.get()
        line = (
            f'{{"ts": "{timestamp(time.time())}", "level": "info", "logger": "guestgate.access",'
            f' "msg": {_json_string(f"{method} {path} {status}")}'
            + (f', "request_id": {_json_string(request_id)}' if request_id else "")
            + f', "status": {status!r}, "ms": {ms!r}}}'
        )
        try:
            with handler.lock or contextlib.nullcontext():
                handler.stream.write(line + handler.terminator)
                handler.stream.flush()
            return
        except Exception:  # noqa: S110 - the line goes the usual way, which reports the error
            pass
    access_log.info("%s %s %s", method, path, status, extra={"status": status, "ms": ms})
