"""The one timestamp format stored and compared everywhere: UTC, microseconds, ``Z``.

Fixed-width ISO-8601 text sorts the same as time on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def graph_time(text: str | None) -> str | None:
    """Render a stored timestamp the way Microsoft Graph does: seconds and ``Z``."""
    return None if text is None else text[:19] + "Z"


def utcnow() -> datetime:
    return datetime.now(UTC)
