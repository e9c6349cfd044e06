"""A report reads one snapshot: what commits while it runs is not half in its figures.

The summary takes ranks from its counts and then the values at those ranks; if an
invitation committed in between, a rank could point past the rows left (an error) or the
figures would not add up.
"""

from __future__ import annotations

import pytest

from tests.contract.builders import (
    UowFactory,
    at,
    committed,
    make_invitation,
    make_user,
    tenant_with_guest,
)

pytestmark = pytest.mark.anyio


async def test_a_report_does_not_see_what_commits_while_it_runs(uow: UowFactory) -> None:
    tenant, guest = await tenant_with_guest(uow)
    await committed(uow, (make_invitation(guest, created_at=at(10)), "h" + guest.id))
    window = {"start": at(0), "end": at(100), "now": at(50)}
    async with uow(write=False) as reading:
        before = await reading.reports.outcomes(tenant.id, **window)
        assert before == {"PendingAcceptance": 1}
        other = make_user(tenant.id)
        await committed(uow, other, (make_invitation(other, created_at=at(20)), "h" + other.id))
        assert await reading.reports.outcomes(tenant.id, **window) == before
        counts = await reading.reports.pending_counts(tenant.id, before=at(100), now=at(50))
        assert counts == (1, 0)
    async with uow(write=False) as reading:  # a new report sees both
        assert await reading.reports.outcomes(tenant.id, **window) == {"PendingAcceptance": 2}
