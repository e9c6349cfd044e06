"""The one timestamp format stored and compared everywhere: UTC, microseconds, ``Z``.

Fixed-width ISO-8601 text sorts the same as time on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    # Every row, audit record and event is stamped: %-formatting the fields takes a third
    # of strftime's time.
    m = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        m.year,
        m.month,
        m.day,
        m.hour,
        m.minute,
        m.second,
        m.microsecond,
    )


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def graph_time(text: str | None) -> str | None:
    """Render a stored timestamp the way Microsoft Graph does: seconds and ``Z``."""
    return None if text is None else text[:19] + "Z"


def utcnow() -> datetime:
    return datetime.now(UTC)
