from __future__ import annotations

import pytest

from guestgate.domain.throttle import FailureThrottle


def test_limit_failures_then_refused_until_the_oldest_leaves_the_window() -> None:
    throttle = FailureThrottle(3, 60.0)
    for t in (0.0, 10.0, 20.0):
        assert throttle.retry_after("k", t) is None
        throttle.failed("k", t)
    assert throttle.retry_after("k", 20.5) == 40  # the failure at 0 leaves at 60
    assert throttle.retry_after("k", 59.9) == 1
    assert throttle.retry_after("k", 60.0) is None


def test_keys_are_independent_and_success_never_counts() -> None:
    throttle = FailureThrottle(2, 60.0)
    throttle.failed(("app", "10.0.0.1"), 0.0)
    throttle.failed(("app", "10.0.0.1"), 1.0)
    assert throttle.retry_after(("app", "10.0.0.1"), 2.0) is not None
    assert throttle.retry_after(("app", "10.0.0.2"), 2.0) is None


def test_memory_is_bounded_by_forgetting_the_least_recent_key() -> None:
    throttle = FailureThrottle(1, 60.0, max_keys=100)
    for i in range(1000):
        throttle.failed(i, 0.0)
    assert len(throttle) == 100
    assert throttle.retry_after(999, 1.0) == 59
    assert throttle.retry_after(0, 1.0) is None


def test_expired_keys_are_dropped() -> None:
    throttle = FailureThrottle(2, 10.0)
    throttle.failed("k", 0.0)
    assert throttle.retry_after("k", 11.0) is None
    assert len(throttle) == 0


@pytest.mark.parametrize("args", [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_nonsense_limits_are_refused(args: tuple[int, float]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        FailureThrottle(*args)
