from __future__ import annotations

import pytest

from guestgate.errors import UnsupportedMediaType, ValidationError
from guestgate.web.body import parse_json
from guestgate.web.schemas import InviteGuestBody

JSON = "application/json"


def parse(body: bytes, content_type: str = JSON) -> InviteGuestBody:
    return parse_json(body, content_type, InviteGuestBody)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b'{"invitedUserEmailAddress":"a@ok.com","invitedUserEmailAddress":"b@x.com"}',
            "DuplicateJsonKey",
        ),
        (b'{"more":{"a":NaN}}', "InvalidJson"),
        (b'{"more":{"a":Infinity}}', "InvalidJson"),
        (b'{"more":{"a":1e400}}', "InvalidJson"),
        (b'{"more":{"a":' + b"9" * 5000 + b"}}", "InvalidJson"),
        (b'{"more":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001, "InvalidJson"),
        (b'{"more":' + b'{"a":' * 20 + b"1" + b"}" * 21, "InvalidJson"),
        (b'{"invitedUserEmailAddress":"a\\u0000@x.com"}', "InvalidJson"),
        (b'{"invitedUserDisplayName":"\\ud800"}', "InvalidJson"),
        (b'{"more":{"\\udfff":1}}', "InvalidJson"),
        (b'{"invitedUserEmailAddress":"\xff"}', "InvalidJson"),
        (b"\xef\xbb\xbf{}", "InvalidJson"),
        (b"[]", "InvalidJson"),
        (b'"a"', "InvalidJson"),
        (b"{} trailing", "InvalidJson"),
        (b"", "InvalidJson"),
        (b'{"invitedUserEmailAddress":123}', "InvalidRequestBody"),
        (b'{"invitedUserEmailAddress":["a@x.com"]}', "InvalidRequestBody"),
        (b'{"sendInvitationMessage":"true"}', "InvalidRequestBody"),
        (b'{"more":"text"}', "InvalidRequestBody"),
        (b'{"invitedUserMessageInfo":{"ccRecipients":"x@y.com"}}', "InvalidRequestBody"),
    ],
)
def test_hostile_json_is_a_validation_error(body: bytes, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse(body)
    assert info.value.code == code


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_only_json_is_accepted(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_json(b"{}", content_type, InviteGuestBody)


def test_mass_assignment_fields_are_ignored() -> None:
    body = parse(
        b'{"invitedUserEmailAddress":"a@x.com","id":"x","status":"Completed","tenantId":"t"}'
    )
    assert body.invitedUserEmailAddress == "a@x.com"
    assert not hasattr(body, "status")


def test_charset_parameter_is_fine() -> None:
    assert parse(b'{"invitedUserEmailAddress":"a@x.com"}', "application/json; charset=utf-8")
