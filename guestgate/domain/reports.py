"""Report rules: the time window, buckets, percentiles and GT365's sign-in categories.

Pure functions: time is passed in. What each figure counts, and where it comes from, is in
docs/reports.md; services/reports.py puts these rules and the SQL together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from guestgate.domain.timestamps import parse_iso
from guestgate.errors import ValidationError

DEFAULT_DAYS = 90  # the window when `from` is not given: the 90 days before `to`
MAX_WINDOW_DAYS = 731  # two years: at most 731 day buckets in a series
BUCKETS = ("day", "week")
DEFAULT_TOP = 10  # requesters or domains shown by name; the rest are summed as others
MAX_TOP = 50
DEFAULT_PENDING_DAYS = 30
MAX_PENDING_DAYS = 3650
DEFAULT_PAGE = 50
MAX_PAGE = 500
PERCENTILES = (50, 90)
NO_REQUESTER = ""  # the key of invitations that name no requester

# GT365's Power BI template: `LastLoginDays` is -1 without a sign-in, else the whole days
# since it; `LoginCategory` takes these names with these edges (days < 31, < 91, < 181).
NO_SIGN_IN = "0 (No Login)"
SIGN_IN_CATEGORIES = (
    NO_SIGN_IN,
    "1 (0-30 days)",
    "2 (30-90 days)",
    "3 (90-180 days)",
    "4 (>180 days)",
)
SIGN_IN_EDGES = (31, 91, 181)  # a category's days are below its edge and at least the last


def bad(name: str, message: str) -> ValidationError:
    return ValidationError(f"{name}: {message}", code="InvalidReportParameter")


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end): the invitations created from `start` up to, not including, `end`."""

    start: datetime
    end: datetime


def parse_moment(name: str, text: str) -> datetime:
    """A date (2026-03-01, midnight UTC) or an ISO 8601 time with a zone."""
    value = text.strip()
    if len(value) > 40:
        raise bad(name, "must be a date (2026-03-01) or an ISO 8601 time with a zone.")
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad(name, "must be a date (2026-03-01) or an ISO 8601 time with a zone.")
    if not 2000 <= moment.year <= 2999:
        raise bad(name, "must be a time between the years 2000 and 2999.")
    return moment.astimezone(UTC)


def parse_window(start: str | None, end: str | None, *, now: datetime) -> Window:
    """The window of `from` and `to`: by default the 90 days up to now."""
    stop = now if end is None else parse_moment("to", end)
    begin = stop - timedelta(days=DEFAULT_DAYS) if start is None else parse_moment("from", start)
    if begin >= stop:
        raise bad("from", "must be before to.")
    if stop - begin > timedelta(days=MAX_WINDOW_DAYS):
        raise bad("from", f"the window may span at most {MAX_WINDOW_DAYS} days.")
    return Window(begin, stop)


def parse_int(name: str, text: str | None, *, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise bad(name, f"must be a whole number from {low} to {high}.")
    number = int(value)
    if not low <= number <= high:
        raise bad(name, f"must be a whole number from {low} to {high}.")
    return number


def parse_bucket(text: str | None) -> str:
    if text is None:
        return "day"
    if text not in BUCKETS:
        raise bad("bucket", "must be day or week.")
    return text


def bucket_of(day: date, bucket: str) -> date:
    """The first day of the bucket holding `day`: itself, or the Monday of its ISO week."""
    return day if bucket == "day" else day - timedelta(days=day.weekday())


def buckets(window: Window, bucket: str) -> list[date]:
    """Every bucket the window touches, first to last (a partial first or last week too)."""
    first = bucket_of(window.start.date(), bucket)
    last = bucket_of((window.end - timedelta(microseconds=1)).date(), bucket)
    step = timedelta(days=1 if bucket == "day" else 7)
    found, day = [], first
    while day <= last:
        found.append(day)
        day += step
    return found


@dataclass(frozen=True, slots=True)
class Series:
    """One requester's or domain's invitations per bucket; `key` None: all the others."""

    key: str | None
    total: int
    counts: tuple[int, ...]  # one per bucket, in the order of `Breakdown.buckets`


@dataclass(frozen=True, slots=True)
class Breakdown:
    bucket: str
    buckets: tuple[date, ...]
    series: tuple[Series, ...]  # the top keys by total (ties by key), then the others if any
    total: int


def breakdown(
    window: Window,
    bucket: str,
    *,
    top: Sequence[tuple[str, int]],
    per_day: Iterable[tuple[str, str, int]],
    day_totals: Iterable[tuple[str, int]],
) -> Breakdown:
    """Fold per-day counts (`(day, key, count)` of the top keys, `(day, count)` of all) into
    the window's buckets; what the top keys do not cover is the others' series."""
    days = buckets(window, bucket)
    position = {d: i for i, d in enumerate(days)}
    index = {key: i for i, (key, _) in enumerate(top)}
    rows = [[0] * len(days) for _ in top]
    everyone = [0] * len(days)
    for day, key, count in per_day:
        rows[index[key]][position[bucket_of(date.fromisoformat(day), bucket)]] += count
    for day, count in day_totals:
        everyone[position[bucket_of(date.fromisoformat(day), bucket)]] += count
    series = [Series(key, total, tuple(rows[i])) for i, (key, total) in enumerate(top)]
    others = [all_ - sum(r[i] for r in rows) for i, all_ in enumerate(everyone)]
    if any(others):
        series.append(Series(None, sum(others), tuple(others)))
    return Breakdown(bucket, tuple(days), tuple(series), sum(everyone))


def rank(percentile: int, count: int) -> int:
    """The nearest-rank position (1-based) of a percentile among `count` sorted values: the
    smallest value that at least `percentile` % of the values are at or below. Integer
    arithmetic, so no float rounding moves it."""
    return max(1, -(-percentile * count // 100))


def nearest_rank(percentile: int, values: Sequence[int]) -> int | None:
    """The percentile of already-sorted values by the nearest-rank rule (None: no values)."""
    return values[rank(percentile, len(values)) - 1] if values else None


def rate(part: int, whole: int) -> float | None:
    """part / whole, rounded to four places (None when there is no whole)."""
    return None if whole == 0 else round(part / whole, 4)


def sign_in_thresholds(now: datetime) -> tuple[datetime, ...]:
    """The times a last sign-in must be after to fall below each edge: whole days since
    it < 31 ⇔ it is later than now − 31 days."""
    return tuple(now - timedelta(days=edge) for edge in SIGN_IN_EDGES)


def sign_in_category(last: datetime | None, now: datetime) -> str:
    """GT365's LoginCategory of one user (a sign-in stamped after `now` counts as 0 days)."""
    if last is None:
        return NO_SIGN_IN
    days = max(0, math.floor((now - last) / timedelta(days=1)))
    for edge, name in zip(SIGN_IN_EDGES, SIGN_IN_CATEGORIES[1:], strict=False):
        if days < edge:
            return name
    return SIGN_IN_CATEGORIES[-1]


def share(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Each count's part of the total, rounded to four places."""
    total = sum(counts.values())
    return {k: rate(v, total) for k, v in counts.items()}


def accept_micros(created_at: str, completed_at: str) -> int:
    """Whole microseconds from an invitation's creation to its acceptance (stored times)."""
    return (parse_iso(completed_at) - parse_iso(created_at)) // timedelta(microseconds=1)
