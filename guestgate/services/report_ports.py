"""The report queries the report use-cases depend on (adapters/sql/reports.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class ReportStore(Protocol):
    """The report queries (adapters/sql/reports.py)."""

    async def outcomes(
        self, tenant_id: str, *, start: str, end: str, now: str
    ) -> dict[str, int]: ...
    async def accept_micros_at(
        self, tenant_id: str, *, start: str, end: str, ranks: Sequence[int], accepted: int
    ) -> list[int]: ...
    async def top_keys(
        self, tenant_id: str, by: str, *, start: str, end: str, limit: int
    ) -> list[tuple[str, int]]: ...
    async def per_day(
        self, tenant_id: str, by: str, keys: Sequence[str], *, start: str, end: str
    ) -> list[tuple[str, str, int]]: ...
    async def day_totals(
        self, tenant_id: str, *, start: str, end: str
    ) -> list[tuple[str, int]]: ...
    async def pending_counts(self, tenant_id: str, *, before: str, now: str) -> tuple[int, int]: ...
    async def pending_page(
        self, tenant_id: str, *, before: str, after: tuple[str, str] | None, limit: int
    ) -> list[dict[str, Any]]: ...
    async def sign_in_counts(self, tenant_id: str, *, after: Sequence[str]) -> dict[int, int]: ...
