"""The stores the admin console reads and writes (adapters/sql/roles.py, guest_list.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from guestgate.domain.console import ConsoleSession, GuestFilter, GuestRow
from guestgate.domain.roles import RoleAssignment


class Roles(Protocol):
    """Console role assignments: a member of the tenant and each role it holds."""

    async def assign(self, assignment: RoleAssignment) -> bool: ...
    async def remove(self, tenant_id: str, user_id: str, role: str) -> bool: ...
    async def of_user(self, tenant_id: str, user_id: str) -> Sequence[str]: ...
    async def list(self, tenant_id: str) -> Sequence[RoleAssignment]: ...


class ConsoleSessions(Protocol):
    """Signed-in console browsers, by the SHA-256 of their cookie."""

    async def add(self, session: ConsoleSession) -> None: ...
    async def get(self, session_hash: str) -> ConsoleSession | None: ...
    async def end(self, session_hash: str, now: str) -> bool: ...


class GuestList(Protocol):
    """The console's guest list: filtered, sorted, keyset-paged, counted."""

    async def page(self, tenant_id: str, where: GuestFilter, *, now: str) -> Sequence[GuestRow]: ...
    async def count(self, tenant_id: str, where: GuestFilter, *, now: str) -> int: ...
