"""The one timestamp format stored and compared everywhere: UTC, microseconds, ``Z``.

Fixed-width ISO-8601 text sorts the same as time on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

_last: tuple[datetime | None, str] = (None, "")


def iso(moment: datetime) -> str:
    # A use-case stamps its rows, audit record and event with one `now`: format it once. The
    # memo is one (moment, text) tuple, replaced whole, so a reader never sees half of one.
    global _last
    last = _last
    if last[0] is moment:
        return last[1]
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _last = (moment, text)
    return text


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def graph_time(text: str | None) -> str | None:
    """Render a stored timestamp the way Microsoft Graph does: seconds and ``Z``."""
    return None if text is None else text[:19] + "Z"


def utcnow() -> datetime:
    return datetime.now(UTC)
