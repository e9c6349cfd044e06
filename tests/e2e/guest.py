"""A guest redeeming an invitation: a browser without JavaScript, and the codes it receives."""

from __future__ import annotations

import re

import httpx

from tests.e2e.server import Server
from tests.e2e.smtp import SmtpSink


class Guest:
    """A browser without JavaScript: follows the forms, keeps cookies, never follows redirects."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = server.client(follow_redirects=False)

    def open(self, url: str) -> httpx.Response:
        return self.http.get(url.removeprefix(self.server.base_url))

    def submit(self, page: httpx.Response, action: str, **extra: str) -> httpx.Response:
        form = re.search(
            rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', page.text, re.S
        )
        assert form, page.text
        fields = dict(re.findall(r'name="([a-z]+)" value="([^"]*)"', form.group(1)))
        return self.http.post(action, data={**fields, **extra})

    def close(self) -> None:
        self.http.close()


def latest_code(sink: SmtpSink, email: str, count: int) -> str:
    messages = sink.wait_for(count, to=email, subject_contains="verification code")
    return re.search(r"\b(\d{6})\b", messages[-1].get_body(("plain",)).get_content()).group(1)  # type: ignore[union-attr]
