"""How a create or PATCH in Graph's terms maps onto a guestgate app's one URI list."""

from __future__ import annotations

import pytest

from guestgate.errors import ValidationError
from guestgate.services.app_registrations import Changes, client_kind, one_app_id_uri

WEB = ["https://app.example/cb"]
NATIVE = ["http://localhost/cb"]
KEPT = ("https://kept.example/cb",)


@pytest.mark.parametrize(
    ("changes", "public", "expected"),
    [
        (Changes(), False, (False, KEPT)),
        (Changes(), True, (True, KEPT)),
        (Changes(web_redirect_uris=WEB), True, (False, WEB)),
        (Changes(public_redirect_uris=NATIVE), False, (True, NATIVE)),
        (Changes(fallback_public=True), False, (True, KEPT)),  # the URIs move along
        (Changes(fallback_public=False), True, (False, KEPT)),
        (Changes(fallback_public=True, public_redirect_uris=NATIVE), False, (True, NATIVE)),
        # An empty list of the other kind changes nothing; of the app's kind, it clears.
        (Changes(public_redirect_uris=[]), False, (False, KEPT)),
        (Changes(web_redirect_uris=[]), False, (False, [])),
        (Changes(web_redirect_uris=WEB, public_redirect_uris=[]), True, (False, WEB)),
    ],
)
def test_the_client_kind_and_uris_follow_what_is_given(
    changes: Changes, public: bool, expected: tuple[bool, object]
) -> None:
    assert client_kind(changes, public=public, uris=KEPT) == expected


@pytest.mark.parametrize(
    "changes",
    [
        Changes(web_redirect_uris=WEB, public_redirect_uris=NATIVE),
        Changes(fallback_public=True, web_redirect_uris=WEB),
        Changes(fallback_public=False, public_redirect_uris=NATIVE),
    ],
)
def test_contradictions_are_refused(changes: Changes) -> None:
    with pytest.raises(ValidationError) as raised:
        client_kind(changes, public=False, uris=KEPT)
    assert raised.value.code == "InvalidRedirectUri"


def test_an_app_has_at_most_one_application_id_uri() -> None:
    assert one_app_id_uri([]) is None
    assert one_app_id_uri(["api://one"]) == "api://one"
    with pytest.raises(ValidationError):
        one_app_id_uri(["api://one", "api://two"])
