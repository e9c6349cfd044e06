"""When the worker's lifecycle look runs a pass (services/lifecycle_cadence.py)."""

from __future__ import annotations

from datetime import date

from guestgate.services.lifecycle_cadence import Cadence

DAY = date(2026, 12, 4)
POLICIES = (("p1", 1, True),)


def test_the_first_look_runs_a_pass_and_the_next_ones_that_day_do_not() -> None:
    cadence = Cadence()
    assert cadence.wanted(DAY, POLICIES)
    cadence.ran(DAY, POLICIES, left=0)
    assert not cadence.wanted(DAY, POLICIES)
    assert not cadence.wanted(DAY, (("p1", 1, True),))  # equal, not the same object


def test_a_new_day_runs_a_pass() -> None:
    cadence = Cadence()
    cadence.ran(DAY, POLICIES, left=0)
    assert cadence.wanted(date(2026, 12, 5), POLICIES)


def test_a_changed_policy_runs_a_pass_the_same_day() -> None:
    cadence = Cadence()
    cadence.ran(DAY, POLICIES, left=0)
    assert cadence.wanted(DAY, (("p1", 2, True),))  # edited: a new version
    assert cadence.wanted(DAY, (("p1", 1, False),))  # disabled
    assert cadence.wanted(DAY, (*POLICIES, ("p2", 1, True)))  # another one
    assert cadence.wanted(DAY, ())  # deleted


def test_a_backlog_runs_a_pass_at_every_look_until_none_is_left() -> None:
    cadence = Cadence()
    cadence.ran(DAY, POLICIES, left=4_000)
    assert cadence.wanted(DAY, POLICIES)
    cadence.ran(DAY, POLICIES, left=3_500)
    assert cadence.wanted(DAY, POLICIES)
    cadence.ran(DAY, POLICIES, left=0)
    assert not cadence.wanted(DAY, POLICIES)
