"""Numbers in query strings are ASCII digits; any other digit is a 400, never a 500."""

from __future__ import annotations

import pytest

from guestgate.errors import ValidationError
from guestgate.services.events import parse_cursor


@pytest.mark.parametrize("value", ["\u00b9", "\u0661", "\uff11", "1\u00b2", "\u2460", "\u09e7"])
def test_an_event_cursor_in_other_digits_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_cursor(value)
    assert info.value.code == "InvalidCursor"


def test_an_ascii_cursor_is_read() -> None:
    assert parse_cursor("42") == 42
    assert parse_cursor(None) == 0
