"""Tenant references: a GUID is recognised in its canonical form only, in either case."""

from __future__ import annotations

import uuid

import pytest

from guestgate.domain.tenants import is_guid


def test_canonical_guids_in_either_case() -> None:
    for _ in range(100):
        text = str(uuid.uuid4())
        assert is_guid(text)
        assert is_guid(text.upper())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "contoso.example",
        "{12345678-1234-1234-1234-123456789abc}",
        "urn:uuid:12345678-1234-1234-1234-123456789abc",
        "12345678123412341234123456789abc",
        "12345678-1234-1234-1234-123456789abg",
        "12345678-1234-1234-1234-123456789abc\n",
        "١٢٣٤٥٦٧٨-1234-1234-1234-123456789abc",  # Arabic-Indic digits
        "12345678_1234-1234-1234-123456789abc",
    ],
)
def test_anything_else_is_not_a_guid(text: str) -> None:
    assert not is_guid(text)
