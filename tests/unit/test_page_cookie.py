"""The redemption pages' short way to a Set-Cookie header gives Litestar's very text."""

from __future__ import annotations

import itertools

import pytest
from litestar.datastructures import Cookie

from guestgate.web.forms import PageCookie

VALUES = ["", "abc", "Zx9-_.~", "a=b", "sealed.v1.AbC+/=", 'quote"d', "semi;colon", "sp ace", "ü"]


@pytest.mark.parametrize(
    ("value", "secure", "httponly", "max_age", "samesite"),
    list(
        itertools.product(VALUES, [True, False], [True, False], [0, 3600, None], ["lax", "strict"])
    ),
)
def test_the_header_is_litestars(
    value: str, secure: bool, httponly: bool, max_age: int | None, samesite: str
) -> None:
    fields = dict(
        key="__Host-guestgate_form",
        value=value,
        path="/",
        max_age=max_age,
        httponly=httponly,
        secure=secure,
        samesite=samesite,
    )
    assert PageCookie(**fields).to_encoded_header() == Cookie(**fields).to_encoded_header()


@pytest.mark.parametrize("extra", [{"domain": "contoso.example"}, {"expires": 1_900_000_000}])
def test_a_domain_or_expiry_takes_litestars_way(extra: dict[str, object]) -> None:
    fields = dict(key="k", value="v", path="/", max_age=60, httponly=True, **extra)
    assert PageCookie(**fields).to_encoded_header() == Cookie(**fields).to_encoded_header()
