"""Every email wears one layout: the organisation's logo (or initials) and name, a heading
that is the subject, why the recipient got it, and who sent it from which domain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guestgate.adapters.mail.render import Sender, build
from guestgate.domain.messages import (
    NOTICE_DECLINED,
    InvitationMail,
    OneTimeCodeMail,
    Payload,
    RequesterNotification,
    RequesterSummary,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SENDER = Sender("invites@mail.contoso.example")
LOGO = "https://contoso.example/logo.png"


def invitation(**overrides: object) -> InvitationMail:
    fields: dict[str, object] = {
        "to": "guest@fabrikam.example",
        "to_name": "Guest",
        "cc": None,
        "org": "Contoso Ltd",
        "logo_url": LOGO,
        "inviter": "boss@contoso.example",
        "redeem_url": "https://gg.example/redeem/?ticket=abc",
        "language": None,
        "body": None,
        "expires": None,
    }
    return InvitationMail(**(fields | overrides))  # type: ignore[arg-type]


MAILS: dict[str, Payload] = {
    "invitation": invitation(),
    "code": OneTimeCodeMail(to="guest@fabrikam.example", org="Contoso Ltd", code="482913"),
    "invited": RequesterNotification(
        to="boss@contoso.example", org="Contoso Ltd", guest="guest@fabrikam.example"
    ),
    "declined": RequesterNotification(
        to="boss@contoso.example",
        org="Contoso Ltd",
        guest="guest@fabrikam.example",
        outcome=NOTICE_DECLINED,
        logo_url=LOGO,
    ),
    "summary": RequesterSummary(
        to="boss@contoso.example", org="Contoso Ltd", guests=("a@fabrikam.example",)
    ),
}


def parts(payload: Payload) -> tuple[str, str, str]:
    parsed = build(payload, outbox_id="m1", sender=SENDER, now=NOW).parsed()
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return str(parsed["Subject"]), text, html


@pytest.mark.parametrize("name", MAILS)
def test_every_mail_names_the_org_the_sending_domain_and_why(name: str) -> None:
    subject, text, html = parts(MAILS[name])
    for body in (text, html):
        assert "Contoso Ltd" in body
        assert "from mail.contoso.example" in body
        assert "You received this email because" in body
    assert "<h1 style=" in html
    assert f">{subject}</h1>" in html
    assert f"<title>{subject}</title>" in html
    assert text.splitlines()[2] == subject  # org, blank line, then the heading


@pytest.mark.parametrize("name", MAILS)
def test_the_logo_shows_when_there_is_one_and_initials_otherwise(name: str) -> None:
    _, _, html = parts(MAILS[name])
    has_logo = getattr(MAILS[name], "logo_url", None) is not None
    assert (f'<img src="{LOGO}"' in html) == has_logo
    assert (">CL</div>" in html) == (not has_logo)


def test_the_invitation_says_who_invited_whom() -> None:
    _, text, _ = parts(MAILS["invitation"])
    assert "boss@contoso.example invited you." in text
    assert "boss@contoso.example invited guest@fabrikam.example to Contoso Ltd." in text


def test_the_code_mail_shows_the_code_and_who_asked_for_it() -> None:
    subject, text, html = parts(MAILS["code"])
    assert subject == "Your Contoso Ltd verification code"
    assert "482913" in text
    assert ">482913</p>" in html
    assert "a code for guest@fabrikam.example was asked for" in text


def test_the_requester_hears_of_a_decline_with_what_it_means() -> None:
    subject, text, _ = parts(MAILS["declined"])
    assert subject == "guest@fabrikam.example declined the invitation to your organization"
    assert "no longer works" in text
    assert "invited again" in text


def test_german_mails_keep_the_layout() -> None:
    code = OneTimeCodeMail(
        to="gast@fabrikam.example", org="Contoso", code="111222", language="de-AT"
    )
    subject, text, html = parts(code)
    assert subject == "Ihr Bestätigungscode für Contoso"
    assert '<html lang="de">' in html
    assert "Gesendet von guestgate im Auftrag von Contoso über mail.contoso.example." in text


def test_names_in_the_layout_are_escaped() -> None:
    _, _, html = parts(invitation(org='<b>Evil</b> "Org"', logo_url='x" onerror="alert(1)'))
    assert "<b>Evil</b>" not in html
    assert 'onerror="alert(1)"' not in html
