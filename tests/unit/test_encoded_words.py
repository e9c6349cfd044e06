"""Addresses a mail client would decode into another mailbox are refused at input."""

from __future__ import annotations

import pytest

from guestgate.domain.emails import parse_email
from guestgate.domain.invitations import build_invite_request
from guestgate.errors import ValidationError


@pytest.mark.parametrize(
    "address",
    [
        "=?utf-8?b?Y2VvQGNvbnRvc28uY29t?=@example.com",
        "=?UTF-8?Q?ceo=40contoso.com?=@example.com",
        "x=?iso-8859-1?q?a?=@example.com",
    ],
)
def test_encoded_words_are_refused(address: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_email(address)
    assert "encoded word" in info.value.message


@pytest.mark.parametrize(
    ("field", "code"),
    [("requested_by", "InvalidRequestedBy"), ("cc", "InvalidCcRecipient")],
)
def test_requester_and_cc_refuse_encoded_words_too(field: str, code: str) -> None:
    encoded = "=?utf-8?b?Y2VvQGNvbnRvc28uY29t?=@example.com"
    value: object = [(None, encoded)] if field == "cc" else encoded
    with pytest.raises(ValidationError) as info:
        build_invite_request(email="guest@example.com", **{field: value})  # type: ignore[arg-type]
    assert info.value.code == code


@pytest.mark.parametrize("address", ["a=b@example.com", "a?=b@example.com", "q?x=@example.com"])
def test_equals_and_question_marks_alone_are_fine(address: str) -> None:
    assert parse_email(address).address == address
