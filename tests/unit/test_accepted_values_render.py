"""Property: any value accepted at input renders in every page, header and email without error.

Hypothesis draws invitations and tenant links from wide alphabets (every Unicode category,
IDN hosts, percent signs, encoded-word look-alikes). Whatever the rules accept is stored (in
the port fakes), then rendered the way it reaches people: the invitation, code and requester
emails (parsed back as a mail client decoding RFC 2047 would, showing the same mailboxes),
the Location header of the final redirect (as an HTTP/1.1 server must write it), the
redemption pages, and the API's JSON answer.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import h11
import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from guestgate.adapters.mail.render import Sender, build
from guestgate.adapters.sealing import Sealer
from guestgate.domain.emails import parse_email
from guestgate.domain.invitations import build_invite_request
from guestgate.domain.messages import decode_payload
from guestgate.domain.randomness import SeededRandomness
from guestgate.domain.redemption import mask_address
from guestgate.errors import GuestgateError
from guestgate.services import tenants
from guestgate.services.directory import Actor
from guestgate.services.governance import Governance
from guestgate.services.invitations import InvitationService
from guestgate.services.local_directory import LocalDirectory
from guestgate.web.api import invite_answer
from guestgate.web.forms import render, see_other
from tests.fakes import FakeStore, FakeUnitOfWork

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEALER = Sealer(secrets.token_bytes(32))
PUBLIC_URL = "https://gg.test"
ORG_DOMAIN = "contoso.example"

# Every category, weighted towards the characters that break things: controls, format
# characters (zero-width, bidi), surrogates, private use, separators, quotes, percent.
TRICKY = st.sampled_from(
    list("\x00\t\n\r\x7f\x85\u00a0\u200b\u200e\u202e\u2028\u2066\ufeff\ue000%\"'<>&\\=?@ ")
)
ANY_TEXT = st.text(st.one_of(st.characters(), TRICKY), max_size=40)
# Text a caller would plausibly send: letters, marks, digits, punctuation, symbols, spaces.
PLAIN = st.text(st.characters(categories=("L", "M", "N", "P", "S", "Zs")), max_size=40)
TEXT = st.one_of(PLAIN, PLAIN, PLAIN, ANY_TEXT)
LOCAL = st.text(
    st.one_of(
        st.sampled_from(list("abcXYZ019.!#$%&'*+-/=?^_`{|}~")),
        st.sampled_from(list("äöüßéñøçłżЖж中文日本ｅ")),
    ),
    min_size=1,
    max_size=20,
).map(lambda local: local.strip("."))
DOMAIN = st.sampled_from(
    [
        "example.com",
        "b\u00fccher.example",
        "xn--bcher-kva.example",
        "\u4f8b\u3048.jp",
        "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
        "ex\u0430mple.com",
        ORG_DOMAIN,
    ]
)
ADDRESS = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
    st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
    st.builds(lambda local, domain: f"{local}@{domain}", ANY_TEXT, DOMAIN),
)
HOST = st.sampled_from(
    ["example.com", "\u00fcber.example", "EXAMPLE.com", "\u4f8b\u3048.jp", "localhost:8443"]
)
URL_TEXT = st.one_of(
    st.text(
        st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="\\"),
        max_size=30,
    ),
    st.text(
        st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="\\"),
        max_size=30,
    ),
    ANY_TEXT,
)
URL = st.builds(
    lambda host, path, query, fragment: f"https://{host}/{path}{query}{fragment}",
    HOST,
    URL_TEXT,
    st.one_of(st.just(""), URL_TEXT.map(lambda q: f"?{q}")),
    st.one_of(st.just(""), URL_TEXT.map(lambda f: f"#{f}")),
)
LINK = st.one_of(st.none(), st.just(""), URL)


def shown(message: EmailMessage, header: str) -> list[str]:
    """The mailboxes a client decoding the header shows."""
    value = message[header]
    return [] if value is None else [a.addr_spec for a in value.addresses]


def check_mail(payload: Any, outbox_id: str) -> None:
    mail = build(payload, outbox_id=outbox_id, sender=Sender("gg@gg.test"), now=NOW)
    if mail.smtputf8:  # RFC 6532: UTF-8 headers, read as a client that takes them reads them
        parsed = email.message_from_string(mail.data.decode("utf-8"), policy=email.policy.default)
    else:
        assert mail.data.isascii()
        parsed = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert not parsed.defects, parsed.defects
    assert shown(parsed, "To") == [parse_email(payload.to).address]
    cc = getattr(payload, "cc", None)
    assert shown(parsed, "Cc") == ([] if cc is None else [parse_email(cc[1]).address])
    str(parsed["Subject"])
    for part in ("plain", "html"):
        body = parsed.get_body((part,))
        assert body is not None
        body.get_content()


def check_location(url: str) -> None:
    """What uvicorn's HTTP/1.1 writer (h11) must be able to put on the wire."""
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(b"GET / HTTP/1.1\r\nHost: gg.test\r\n\r\n")
    connection.next_event()
    response = see_other(url)
    headers = [(k, v) for k, v in response.headers.items()]
    connection.send(h11.Response(status_code=303, headers=headers))
    assert url.isascii()


async def invite_and_render(
    *,
    org: str,
    links: tuple[str | None, str | None, str | None],
    request_fields: dict[str, Any],
) -> bool:
    """Stores what the rules accept, then renders all of it; False if the input was refused."""
    store = FakeStore()
    try:
        tenant = await tenants.create_tenant(
            FakeUnitOfWork(store), name=org, domains=[ORG_DOMAIN], now=NOW
        )
        privacy, logo, landing = links
        tenant = await tenants.update_tenant(
            FakeUnitOfWork(store),
            tenant_ref=tenant.id,
            privacy_url=privacy,
            logo_url=logo,
            landing_url=landing,
            now=NOW,
        )
        request = build_invite_request(**request_fields)
        directory = LocalDirectory(
            lambda write=True: FakeUnitOfWork(store, write=write),
            sealer=SEALER,
            public_url=PUBLIC_URL,
            cursor_key=b"c" * 32,
            now=lambda: NOW,
            rng=SeededRandomness(3),
        )
        service = InvitationService(
            directory, Governance(sealer=SEALER, directory="local"), wake=lambda: None
        )
        actor = Actor(tenant_id=tenant.id, app_id="0f7a0000-0000-4000-8000-000000000002")
        view = await service.invite(actor, request)
    except GuestgateError as exc:
        event(f"refused: {exc.code}")
        return False
    msgspec.json.encode(invite_answer(view))
    for row in store.outbox.values():
        assert row.sealed is not None
        check_mail(decode_payload(row.kind, SEALER.open(row.sealed, f"outbox:{row.id}")), row.id)
    check_location(view.redirect_url)
    masked = mask_address(view.email)
    render("landing.html", org=tenant.name, title=tenant.name, masked=masked, csrf="x")
    render("code.html", org=tenant.name, masked=masked, csrf="x", error="")
    render("consent.html", org=tenant.name, masked=masked, privacy_url=tenant.privacy_url)
    render("message.html", title="You're all set", text=tenant.name, org=tenant.name)
    for url in (tenant.privacy_url, tenant.logo_url, tenant.landing_url):
        if url is not None:
            check_location(url)
    return True


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    org=st.one_of(st.just("Contoso"), st.just("Zo\u00eb & S\u00f6hne <b>"), TEXT),
    links=st.tuples(LINK, LINK, LINK),
    invitee=ADDRESS,
    name=st.one_of(st.none(), TEXT),
    redirect=st.one_of(st.none(), URL),
    requester=st.one_of(st.none(), ADDRESS),
    cc=st.one_of(st.none(), st.tuples(st.one_of(st.none(), TEXT), ADDRESS)),
    body=st.one_of(st.none(), TEXT, st.text(max_size=200)),
    language=st.one_of(st.none(), st.none(), st.sampled_from(["de", "en-US", "fr", "x"]), TEXT),
    send=st.booleans(),
)
def test_any_accepted_value_renders_everywhere(
    org: str,
    links: tuple[str | None, str | None, str | None],
    invitee: str,
    name: str | None,
    redirect: str | None,
    requester: str | None,
    cc: tuple[str | None, str] | None,
    body: str | None,
    language: str | None,
    send: bool,
) -> None:
    accepted = asyncio.run(
        invite_and_render(
            org=org,
            links=links,
            request_fields={
                "email": invitee,
                "display_name": name,
                "redirect_url": redirect,
                "send_message": send,
                "requested_by": requester,
                "message_body": body,
                "message_language": language,
                "cc": None if cc is None else [cc],
            },
        )
    )
    event("accepted" if accepted else "refused")


def test_the_property_reaches_accepted_values() -> None:
    """The strategies are not all refused: an ordinary invitation gets through and renders."""
    assert asyncio.run(
        invite_and_render(
            org="Contoso",
            links=(
                "https://\u00fcber.example/p",
                "https://example.com/l.png",
                "https://x.example/",
            ),
            request_fields={
                "email": "zo\u00eb@b\u00fccher.example",
                "display_name": "Zo\u00eb",
                "redirect_url": "https://example.com/caf\u00e9",
                "send_message": True,
                "requested_by": f"boss@{ORG_DOMAIN}",
                "message_body": "Willkommen",
                "message_language": "de",
                "cc": [("Manager", "m\u00fcller@example.com")],
            },
        )
    )
