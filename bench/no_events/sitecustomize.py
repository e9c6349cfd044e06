"""Loaded by every Python process started with this folder on PYTHONPATH (the `invite-events`
bench case): the invite path without its event, so the CPU the event costs can be measured.
Never used outside the bench."""

from __future__ import annotations

from typing import Any

import guestgate.services.events as events


async def _no_event(*args: Any, **kwargs: Any) -> None:
    return None


events.emit = _no_event  # type: ignore[assignment]
