"""Secrets the suite handled, and where they must never show up.

Every test harness registers what it sees: client secrets, access tokens, redeem tickets,
one-time codes and session ids as they pass by, plus each server's log file and database and
every error body a server sent. `test_leak_scan` (run last) searches all of it.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

_TICKET = re.compile(r"ticket=([A-Za-z0-9_-]{43})")
# A code mail shows its code on a line of its own.
_CODE = re.compile(r"^[ \t]*(\d{6})[ \t]*$", re.MULTILINE)
# Runs of the base64url alphabet (plus ~, the secret prefix): how every secret here is spelt.
_RUN = re.compile(r"[A-Za-z0-9_~-]{16,}")
# A code standing on its own: not inside a longer run of letters and digits (random hex in
# generated addresses and ids holds six digits in a row now and then) nor a fraction.
_SIX_DIGITS = re.compile(r"(?<![\w.])\d{6}(?!\w)")


@dataclass
class Registry:
    secrets: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    kinds: dict[str, str] = field(default_factory=dict)
    # Secrets that are not one run of _RUN's alphabet (webhook secrets are standard base64,
    # with + / =): looked for as they are, in every text.
    spelt_apart: set[str] = field(default_factory=set)
    logs: list[Path] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    error_bodies: list[str] = field(default_factory=list)
    emails: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def secret(self, value: str, kind: str) -> None:
        with self.lock:
            if kind == "access token":
                value = value.rsplit(".", 1)[-1]  # the signature makes a token usable
            self.secrets.add(value)
            self.kinds[value] = kind
            if not _RUN.fullmatch(value):
                self.spelt_apart.add(value)

    def code(self, value: str) -> None:
        with self.lock:
            self.codes.add(value)

    def log(self, path: Path) -> None:
        with self.lock:
            self.logs.append(path)

    def database(self, url: str) -> None:
        with self.lock:
            self.databases.append(url)

    def error_body(self, text: str) -> None:
        with self.lock:
            if len(self.error_bodies) < 50_000:
                self.error_bodies.append(text)

    def email(self, data: bytes) -> None:
        """Kept raw; `harvest_emails` reads the tickets and codes out at scan time."""
        with self.lock:
            self.emails.append(data)

    def harvest_emails(self) -> None:
        with self.lock:
            emails, self.emails = self.emails, []
        for data in emails:
            text = _body_text(data)
            for ticket in _TICKET.findall(text):
                self.secret(ticket, "redeem ticket")
            for code in _CODE.findall(text):
                self.code(code)

    def find(self, text: str) -> list[str]:
        """What of the registered secrets and codes appears in `text`."""
        found = [
            f"{self.kinds[run]} {run[:6]}…" for run in _RUN.findall(text) if run in self.secrets
        ]
        found += [f"{self.kinds[s]} {s[:6]}…" for s in self.spelt_apart if s in text]
        found += [f"one-time code {c}" for c in _SIX_DIGITS.findall(text) if c in self.codes]
        return found


def _body_text(data: bytes) -> str:
    """The decoded text of every part (bodies are base64 on the wire)."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    texts = []
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode("utf-8", "replace"))
    return "\n".join(texts)


REGISTRY = Registry()
