"""Who may see and start bulk jobs in the console, and whose name a Guest inviter's rows
may carry."""

from __future__ import annotations

import pytest

from guestgate.domain.roles import (
    GLOBAL_ADMINISTRATOR,
    GUEST_INVITER,
    READER,
    SPONSOR,
    USER_ADMINISTRATOR,
)
from guestgate.errors import PermissionDenied
from guestgate.services import console_bulk
from tests.unit.test_console_events_access import _person

pytestmark = pytest.mark.anyio
FILE = (
    b"invitedUserEmailAddress,requestedBy\n"
    b"ann@fabrikam.example,\n"
    b"bob@fabrikam.example,AVERY@contoso.example\n"
    b"cy@fabrikam.example,someone.else@contoso.example\n"
    b"not-an-address,\n"
)


@pytest.mark.parametrize(
    "roles",
    [{GLOBAL_ADMINISTRATOR}, {USER_ADMINISTRATOR}, {GUEST_INVITER}, {READER, GUEST_INVITER}],
)
def test_administrators_and_guest_inviters_start_jobs(roles: set[str]) -> None:
    person = _person(*roles)
    console_bulk.require_view(person)
    console_bulk.require_start(person)


@pytest.mark.parametrize("roles", [{READER}, {READER, SPONSOR}])
def test_a_reader_sees_jobs_and_starts_none(roles: set[str]) -> None:
    person = _person(*roles)
    console_bulk.require_view(person)
    with pytest.raises(PermissionDenied) as refused:
        console_bulk.require_start(person)
    assert refused.value.code == "ReadOnlyRole"


def test_a_sponsor_sees_no_bulk_jobs() -> None:
    with pytest.raises(PermissionDenied) as refused:
        console_bulk.require_view(_person(SPONSOR))
    assert refused.value.code == "CannotSeeBulk"


async def test_a_guest_inviters_rows_may_name_only_itself_as_requester() -> None:
    parsed = await console_bulk.read_file(_person(GUEST_INVITER), FILE)
    checked = console_bulk.check(parsed)
    assert (checked.rows, checked.valid, checked.invalid, checked.skipped) == (4, 2, 2, 0)
    assert [(p.row, p.code) for p in checked.problems] == [
        (4, "InvalidRequestedBy"),
        (5, "InvalidEmailAddress"),
    ]
    assert checked.problems[0].message.startswith("Row 4, column requestedBy: a Guest inviter")


async def test_an_administrators_rows_may_name_anyone() -> None:
    parsed = await console_bulk.read_file(_person(USER_ADMINISTRATOR), FILE)
    assert console_bulk.check(parsed).invalid == 1
    assert [r.error.code if r.error else None for r in parsed.rows] == [
        None,
        None,
        None,
        "InvalidEmailAddress",
    ]


async def test_a_reader_cannot_send_a_file() -> None:
    with pytest.raises(PermissionDenied):
        await console_bulk.read_file(_person(READER), FILE)


async def test_a_reader_gets_no_results_file() -> None:
    def no_database(**_: object) -> object:
        raise AssertionError("refused before the database is read")

    with pytest.raises(PermissionDenied) as refused:
        await console_bulk.results(
            no_database,  # type: ignore[arg-type]
            person=_person(READER),
            sealer=None,  # type: ignore[arg-type]
            job_id="7d0c1a52-0b5f-4c73-8198-5502fac6d1d8",
        )
    assert "redeem links" in refused.value.message
