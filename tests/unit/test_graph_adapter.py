from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from guestgate.adapters.graph import backoff, retry_after


def test_retry_after_seconds_and_http_dates() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    dated = retry_after(httpx.Response(503, headers={"Retry-After": formatdate(usegmt=True)}))
    assert dated is not None
    assert 0.0 <= dated < 2.0
    assert retry_after(httpx.Response(503)) is None
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None


def test_backoff_grows_and_is_capped() -> None:
    assert 0.125 <= backoff(1) <= 0.25
    assert 4.0 <= backoff(10) <= 8.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
