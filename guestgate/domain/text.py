"""Rules for free text that callers send: what characters may appear, and how long it may be."""

from __future__ import annotations

import unicodedata

from guestgate.errors import ValidationError

# Bidi overrides and isolates can make text display differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\t")


def has_unsafe_characters(text: str, *, allow_line_breaks: bool = False) -> bool:
    """Control characters (C0, C1, U+2028/2029), bidi overrides, NUL or lone surrogates."""
    for char in text:
        if allow_line_breaks and char in _LINE_BREAKS:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            return True
    return False


def check_text(
    value: str,
    *,
    field: str,
    code: str,
    max_length: int,
    allow_line_breaks: bool = False,
    allow_empty: bool = False,
) -> str:
    if not allow_empty and not value.strip():
        raise ValidationError(f"{field} must not be empty.", code=code)
    if len(value) > max_length:
        raise ValidationError(f"{field} is longer than {max_length} characters.", code=code)
    if has_unsafe_characters(value, allow_line_breaks=allow_line_breaks):
        raise ValidationError(
            f"{field} contains control or invisible formatting characters.", code=code
        )
    return value
