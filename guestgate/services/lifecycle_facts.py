"""Local mode's guest facts: the guests are rows of guestgate's own database
(adapters/sql/lifecycle.py), read a page at a time in short read transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from guestgate.domain.lifecycle_eval import GuestFacts
from guestgate.services.lifecycle_ports import LifecycleUnitOfWork

PAGE = 5000  # guests read per query while evaluating


class SqlGuestFacts:
    def __init__(self, uow: Callable[..., LifecycleUnitOfWork], *, page: int = PAGE) -> None:
        self.uow = uow
        self.page = page

    async def guests(self, tenant_id: str, *, sponsors: bool = True) -> AsyncIterator[GuestFacts]:
        # One page per transaction, so a slow consumer holds no transaction open between
        # pages; ids only grow, so a guest invited meanwhile is seen once or not at all.
        after = ""
        while True:
            async with self.uow(write=False) as uow:
                page = await uow.lifecycle.guests(tenant_id, after=after, limit=self.page)
            for guest in page:
                yield guest
            if len(page) < self.page:
                return
            after = page[-1].user_id

    async def guest(self, tenant_id: str, user_id: str) -> GuestFacts | None:
        async with self.uow(write=False) as uow:
            return await uow.lifecycle.guest(tenant_id, user_id)
