"""Every email wears one layout: the organisation's logo (or initials) and name, a heading
that is the subject, why the recipient got it, and who sent it from which domain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guestgate.adapters.mail.render import Sender, build
from guestgate.domain.messages import (
    NOTICE_APPROVED,
    NOTICE_DECLINED,
    NOTICE_LAPSED,
    NOTICE_REFUSED,
    InvitationMail,
    LifecycleNotice,
    OneTimeCodeMail,
    Payload,
    RequesterNotification,
    RequesterSummary,
    WebhookDisabledNotice,
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
    **{
        outcome: RequesterNotification(
            to="boss@contoso.example",
            org="Contoso Ltd",
            guest="guest@fabrikam.example",
            outcome=outcome,
            comment="Checked with legal." if outcome == NOTICE_REFUSED else None,
        )
        for outcome in (NOTICE_APPROVED, NOTICE_REFUSED, NOTICE_LAPSED)
    },
    "webhook-disabled": WebhookDisabledNotice(
        to="admin@contoso.example",
        org="Contoso Ltd",
        url="https://hooks.contoso.example/guestgate",
        reason="the receiver answered 410 Gone",
        logo_url=LOGO,
    ),
    "lifecycle-sponsor": LifecycleNotice(
        to="boss@contoso.example",
        org="Contoso Ltd",
        entries=(
            (
                "Guest <guest@fabrikam.example>",
                "disable",
                "2026-01-04",
                "https://gg.example/lifecycle/attest?t=keep",
                "https://gg.example/lifecycle/attest?t=remove",
            ),
        ),
    ),
    "lifecycle-guest": LifecycleNotice(
        to="guest@fabrikam.example",
        org="Contoso Ltd",
        entries=(("Guest", "delete", "2026-01-04", "", ""),),
        to_guest=True,
        logo_url=LOGO,
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
        assert "You received this email " in body  # because ..., or as ...
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


def test_each_approval_outcome_has_its_own_subject_and_words() -> None:
    found = {o: parts(MAILS[o]) for o in (NOTICE_APPROVED, NOTICE_REFUSED, NOTICE_LAPSED)}
    assert found[NOTICE_APPROVED][0] == "Your invitation of guest@fabrikam.example was approved"
    assert found[NOTICE_REFUSED][0] == "Your invitation of guest@fabrikam.example was declined"
    assert "Comment: Checked with legal." in found[NOTICE_REFUSED][1]
    assert "expired unapproved" in found[NOTICE_LAPSED][0]
    assert "in time; it has expired" in found[NOTICE_LAPSED][1]


def test_the_lifecycle_notices_say_why_a_sponsor_or_a_guest_got_them() -> None:
    subject, text, html = parts(MAILS["lifecycle-sponsor"])
    assert subject == "Contoso Ltd: 1 guest(s) you sponsor need your decision"
    assert "because you sponsor guests of Contoso Ltd" in text
    assert "as the person who asked" not in text
    assert '<a href="https://gg.example/lifecycle/attest?t=keep">Keep</a>' in html
    assert "Remove now: https://gg.example/lifecycle/attest?t=remove" in text
    assert "Guest &lt;guest@fabrikam.example&gt;: disabled on 2026-01-04" in html
    subject, text, html = parts(MAILS["lifecycle-guest"])
    assert subject == "Contoso Ltd: your guest access will end unless it is renewed"
    assert "will be removed on 2026-01-04" in text
    assert "because you have guest access to Contoso Ltd" in text
    assert "/lifecycle/attest" not in html


def test_the_webhook_notice_names_the_endpoint_and_tells_an_administrator() -> None:
    subject, text, _ = parts(MAILS["webhook-disabled"])
    assert subject == "Contoso Ltd: a webhook endpoint was turned off"
    assert "https://hooks.contoso.example/guestgate: the receiver answered 410 Gone." in text
    assert "as an administrator of Contoso Ltd" in text


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
