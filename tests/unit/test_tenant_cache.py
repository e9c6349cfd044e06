"""The tenant cache of the hot paths: how long an entry lives and what makes room."""

from __future__ import annotations

from guestgate.adapters.sql.tenant_cache import TenantCache
from guestgate.domain.tenants import Tenant


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tenant(tenant_id: str, landing: str | None = None) -> Tenant:
    return Tenant(
        id=tenant_id,
        name="Contoso",
        domains=("contoso.example",),
        created_at="t",
        landing_url=landing,
    )


def test_an_entry_lives_ttl_seconds() -> None:
    clock = Clock()
    cache = TenantCache(ttl=5.0, clock=clock)
    assert cache.get("a") is None
    cache.put(tenant("a"))
    clock.now += 4.9
    assert cache.get("a") == tenant("a")
    clock.now += 0.1
    assert cache.get("a") is None


def test_the_oldest_entry_makes_room() -> None:
    cache = TenantCache(max_entries=2, clock=Clock())
    for name in ("a", "b", "c"):
        cache.put(tenant(name))
    assert [cache.get(n) is not None for n in ("a", "b", "c")] == [False, True, True]
