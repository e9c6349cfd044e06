"""A real SMTP server (aiosmtpd) that records what it receives and can be told to fail."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cached_property
from typing import Any

from aiosmtpd.controller import Controller

from tests.e2e.server import free_port
from tests.leaks import REGISTRY


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @cached_property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    reply: str | None = None  # e.g. "451 try later" or "550 no such user"
    smtputf8: bool = False  # accept UTF-8 addresses (RFC 6531)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        REGISTRY.email(envelope.content)
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(
        self, *, to: str | None = None, subject_contains: str | None = None
    ) -> list[EmailMessage]:
        with self.lock:
            found = [r.message for r in self.received]
        if to is not None:
            found = [m for m in found if to.lower() in str(m["To"]).lower()]
        if subject_contains is not None:
            found = [m for m in found if subject_contains in str(m["Subject"])]
        return found

    def wait_for(self, count: int = 1, timeout: float = 20, **filters: Any) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not filters:
                with self.lock:
                    enough = len(self.received) >= count
                if not enough:
                    time.sleep(0.1)
                    continue
            found = self.messages(**filters)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(
            f"expected {count} messages matching {filters}, got {len(self.messages(**filters))}"
        )
