"""Secrets the suite handled, and where they must never show up.

Every test harness registers what it sees: client secrets, access tokens, redeem tickets,
one-time codes and session ids as they pass by, plus each server's log file and database and
every error body a server sent. At the end of the session (of each worker, when the suite runs
on several), `scan` searches all of it; a leak fails the session. `test_leak_scan` runs a
scenario through every path that handles a secret and scans what it has seen so far.
"""

from __future__ import annotations

import email
import email.policy
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

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


def scan(
    registry: Registry, logs: list[Path] | None = None, databases: list[str] | None = None
) -> list[str]:
    """Every registered secret or code found in a log line, an error body or a column: of
    every registered log and database, or of those given."""
    registry.harvest_emails()
    leaks: list[str] = []
    for path in dict.fromkeys(registry.logs if logs is None else logs):
        if path.exists():
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                leaks += [f"{path.name}:{number}: {hit}" for hit in registry.find(line)]
    for body in registry.error_bodies:
        leaks += [f"error body: {hit}" for hit in registry.find(body)]
    for url in dict.fromkeys(registry.databases if databases is None else databases):
        leaks += [f"database {url.rsplit('/', 1)[-1]}: {hit}" for hit in registry.find(dump(url))]
    return leaks


def dump(database_url: str) -> str:
    """Every value of every table, as text."""
    out: list[str] = []
    if database_url.startswith("sqlite:"):
        path = database_url.removeprefix("sqlite:///")
        if not Path(path).exists():
            return ""
        with sqlite3.connect(path) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                out += [repr(row) for row in conn.execute(f'SELECT * FROM "{table}"')]
        return "\n".join(out)
    try:
        with psycopg.connect(database_url, connect_timeout=3) as conn:
            tables = [
                r[0]
                for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ]
            for table in tables:
                out += [repr(row) for row in conn.execute(f'SELECT * FROM "{table}"')]  # type: ignore[arg-type]
    except psycopg.OperationalError:
        return ""  # a database of a test that already cleaned up
    return "\n".join(out)


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
