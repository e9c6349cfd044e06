"""Signing in to a running guestgate the way a browser without JavaScript does.

`Browser` keeps cookies and never follows redirects, so a test sees every answer; the
one-time code is read from the real SMTP server's mailbox.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.e2e.server import Server
from tests.e2e.smtp import SmtpSink
from tests.leaks import REGISTRY

DEMO_TENANT = "contoso.example"


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_member(server: Server, tenant: str = DEMO_TENANT) -> tuple[str, str]:
    """`guestgate user create`: (address, user id) of a new member."""
    email = f"member.{uuid.uuid4().hex[:8]}@contoso.example"
    created = json.loads(
        server.cli(
            "user", "create", "--tenant", tenant, "--email", email, "--name", "Mia Member", "--json"
        ).stdout
    )
    return email, str(created.get("id") or created.get("UserID") or created.get("userId"))


def new_app(
    server: Server, *redirect_uris: str, public: bool = False, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    args = ["app", "create", "--tenant", DEMO_TENANT, "--name", "Sign-in test app", "--json"]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    if public:
        args.append("--public-client")
    created: dict[str, Any] = json.loads(server.cli(*args, *extra).stdout)
    if "AppSecret" in created:
        REGISTRY.secret(created["AppSecret"], "client secret")
    return created


@dataclass
class Authorized:
    """Where the browser was sent back to, parsed."""

    location: str
    params: dict[str, str]


class Browser:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = server.client(follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def authorize(self, tenant: str, **params: str) -> httpx.Response:
        return self.http.get(f"/{tenant}/oauth2/v2.0/authorize?{urlencode(params)}")

    def form_fields(self, page: httpx.Response, action: str) -> dict[str, str]:
        form = re.search(
            rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', page.text, re.S
        )
        assert form, page.text
        return {
            k: unescape(v)
            for k, v in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1))
        }

    def start(self, page: httpx.Response, email: str) -> httpx.Response:
        fields = self.form_fields(page, "/signin/start")
        return self.http.post("/signin/start", data={**fields, "email": email})

    def enter_code(self, code: str) -> httpx.Response:
        page = self.http.get("/signin/code")
        assert page.status_code == 200, page.text
        return self.http.post(
            "/signin/verify", data={**self.form_fields(page, "/signin/verify"), "code": code}
        )

    def sign_in(self, tenant: str, email: str, sink: SmtpSink, **params: str) -> httpx.Response:
        """The whole page flow: authorize, address, code from the mailbox, verify."""
        page = self.authorize(tenant, **params)
        assert page.status_code == 200, page.text
        before = len(sink.messages(to=email))
        started = self.start(page, email)
        assert started.status_code == 303, started.text
        return self.enter_code(latest_code(sink, email, before + 1))


def latest_code(sink: SmtpSink, email: str, count: int) -> str:
    messages = sink.wait_for(count, to=email, subject_contains="verification code")
    found = re.search(r"\b(\d{6})\b", messages[-1].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert found is not None
    return found.group(1)


def returned(answer: httpx.Response) -> Authorized:
    """The authorization response: a 303 to the redirect URI, or a form_post page."""
    if answer.status_code == 303:
        location = answer.headers["location"]
        query = parse_qs(urlsplit(location).query)
        found = Authorized(location, {k: v[0] for k, v in query.items()})
    else:
        assert answer.status_code == 200, answer.text
        action = re.search(r'<form method="post" action="([^"]+)"', answer.text)
        assert action is not None, answer.text
        fields = re.findall(r'name="([a-z_]+)" value="([^"]*)"', answer.text)
        found = Authorized(unescape(action.group(1)), {k: unescape(v) for k, v in fields})
    if "code" in found.params:
        REGISTRY.secret(found.params["code"], "authorization code")  # stored hashed only
    return found


def accepted_guest(server: Server, sink: SmtpSink) -> tuple[str, str]:
    """A guest invited by the demo app who redeemed the invitation: (address, user id)."""
    from tests.e2e.guest import Guest
    from tests.e2e.guest import latest_code as redeem_code
    from tests.e2e.server import Caller

    email = f"guest.{uuid.uuid4().hex[:8]}@fabrikam.example"
    answer = Caller.demo(server).invite(
        {"invitedUserEmailAddress": email, "sendInvitationMessage": False}
    )
    assert answer.status_code == 201, answer.text
    invited = answer.json()
    guest = Guest(server)
    try:
        landing = guest.open(invited["inviteRedeemUrl"])
        guest.submit(landing, "/redeem/start")
        code_page = guest.http.get("/redeem/code")
        verified = guest.submit(code_page, "/redeem/verify", code=redeem_code(sink, email, 1))
        assert verified.status_code == 303, verified.text
        consent = guest.http.get("/redeem/consent")
        accepted = guest.submit(consent, "/redeem/accept")
        assert accepted.status_code == 303, accepted.text
    finally:
        guest.close()
    return email, str(invited["invitedUser"]["id"])
