"""Build the emails: multipart text + HTML from autoescaped templates, in English or German.

Headers are set through the email library's header objects, never by joining strings, and
every value that reaches a header has been refused at the API edge if it held control
characters. Encoded-word markers (``=?``) are defused as well: CPython 3.11's serializer could
turn them into extra header lines (CVE-2024-6923).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from guestgate.adapters.mail.lifecycle_mail import lifecycle_context
from guestgate.domain.messages import (
    APPROVAL_NOTICES,
    NOTICE_DECLINED,
    InvitationMail,
    LifecycleNotice,
    OneTimeCodeMail,
    Payload,
    RequesterNotification,
    RequesterSummary,
    WebhookDisabledNotice,
    message_id,
)

TEMPLATES = Path(__file__).with_name("templates")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "invite_subject": "{org} invited you to access applications within their organization",
        "invited_by": "{inviter} invited you.",
        "message_from": "Message from {inviter}:",
        "get_started": "Get started",
        "or_open": "Or open this link:",
        "caution": (
            "Only accept this invitation if you trust the sender and expected it. If you did not,"
            " ignore this email: nothing happens unless you accept."
        ),
        "expires": "The invitation expires on {date}.",
        "notify_subject": "{guest} has been invited to your organization",
        "notify_body": "{guest} has been invited to the {org} organization at your request.",
        "summary_subject": "Guests invited to {org} at your request: {count}",
        "summary_body": "At your request, {count} guests were invited to the {org} organization:",
        "summary_held_subject": "Guests waiting for approval in {org} at your request: {count}",
        "summary_held": "{count} more wait for an approver; nothing was sent to them yet. Each"
        " is invited, and you are told, once approved:",
        "code_subject": "Your {org} verification code",
        "code_body": "Enter this code on the invitation page to confirm your email address."
        " It is valid for 10 minutes.",
        "code_ignore": "If you did not ask for a code, ignore this email.",
        "declined_subject": "{guest} declined the invitation to your organization",
        "declined_body": (
            "{guest} declined the invitation to the {org} organization that was sent at your"
            " request. The link in it no longer works."
        ),
        "declined_hint": "The guest can be invited again; a new invitation starts afresh.",
        "approved_subject": "Your invitation of {guest} was approved",
        "approved_body": "{guest} has been invited to the {org} organization: an approver"
        " approved your request.",
        "refused_subject": "Your invitation of {guest} was declined",
        "refused_body": "An approver of {org} declined your request to invite {guest}.",
        "lapsed_subject": "Your invitation of {guest} expired unapproved",
        "lapsed_body": "Nobody approved your request to invite {guest} to {org} in time;"
        " it has expired.",
        "comment": "Comment: {comment}",
        "invite_reason": "You received this email because {inviter} invited {to} to {org}.",
        "code_reason": (
            "You received this email because a code for {to} was asked for on the page of an"
            " invitation from {org}. {org} never asks you to tell anyone this code."
        ),
        "notify_reason": (
            "You received this email because your address was given as the person who asked"
            " for guests to be invited to {org}."
        ),
        "sent_by": "Sent by guestgate on behalf of {org} from {domain}.",
        "hook_subject": "{org}: a webhook endpoint was turned off",
        "hook_body": "guestgate stopped sending {org}'s events to {url}: {reason}.",
        "hook_hint": (
            "Fix the receiver, enable the endpoint again (the console's Webhooks page, or"
            " guestgate webhook enable), then replay the events it missed."
        ),
        "admin_reason": "You received this email as an administrator of {org} in guestgate.",
    },
    "de": {
        "invite_subject": "{org} hat Sie eingeladen, auf Anwendungen der Organisation zuzugreifen",
        "invited_by": "{inviter} hat Sie eingeladen.",
        "message_from": "Nachricht von {inviter}:",
        "get_started": "Los geht's",
        "or_open": "Oder öffnen Sie diesen Link:",
        "caution": (
            "Nehmen Sie diese Einladung nur an, wenn Sie dem Absender vertrauen und sie erwartet"
            " haben. Andernfalls ignorieren Sie diese E-Mail: Ohne Annahme geschieht nichts."
        ),
        "expires": "Die Einladung läuft am {date} ab.",
        "notify_subject": "{guest} wurde in Ihre Organisation eingeladen",
        "notify_body": "{guest} wurde auf Ihren Wunsch in die Organisation {org} eingeladen.",
        "summary_subject": "Auf Ihren Wunsch in {org} eingeladene Gäste: {count}",
        "summary_body": (
            "Auf Ihren Wunsch wurden {count} Gäste in die Organisation {org} eingeladen:"
        ),
        "summary_held_subject": "Auf Ihren Wunsch in {org} zur Genehmigung wartende Gäste: {count}",
        "summary_held": "{count} weitere warten auf eine Genehmigung; an sie wurde noch nichts"
        " gesendet. Jeder wird eingeladen, und Sie werden benachrichtigt, sobald sie erteilt ist:",
        "code_subject": "Ihr Bestätigungscode für {org}",
        "code_body": "Geben Sie diesen Code auf der Einladungsseite ein, um Ihre E-Mail-Adresse"
        " zu bestätigen. Er ist 10 Minuten gültig.",
        "code_ignore": "Wenn Sie keinen Code angefordert haben, ignorieren Sie diese E-Mail.",
        "declined_subject": "{guest} hat die Einladung in Ihre Organisation abgelehnt",
        "declined_body": (
            "{guest} hat die Einladung in die Organisation {org} abgelehnt, die auf Ihren Wunsch"
            " gesendet wurde. Der Link darin funktioniert nicht mehr."
        ),
        "declined_hint": (
            "Der Gast kann erneut eingeladen werden; eine neue Einladung beginnt von vorn."
        ),
        "approved_subject": "Ihre Einladung von {guest} wurde genehmigt",
        "approved_body": "{guest} wurde in die Organisation {org} eingeladen: Ihre Anfrage"
        " wurde genehmigt.",
        "refused_subject": "Ihre Einladung von {guest} wurde abgelehnt",
        "refused_body": "Ihre Anfrage, {guest} in {org} einzuladen, wurde abgelehnt.",
        "lapsed_subject": "Ihre Einladung von {guest} ist ungenehmigt abgelaufen",
        "lapsed_body": "Ihre Anfrage, {guest} in {org} einzuladen, wurde nicht rechtzeitig"
        " genehmigt und ist abgelaufen.",
        "comment": "Kommentar: {comment}",
        "invite_reason": "Sie erhalten diese E-Mail, weil {inviter} {to} zu {org} eingeladen hat.",
        "code_reason": (
            "Sie erhalten diese E-Mail, weil auf der Seite einer Einladung von {org} ein Code"
            " für {to} angefordert wurde. {org} bittet Sie nie, diesen Code weiterzugeben."
        ),
        "notify_reason": (
            "Sie erhalten diese E-Mail, weil Ihre Adresse als die Person angegeben wurde, die"
            " Einladungen von Gästen in {org} veranlasst hat."
        ),
        "sent_by": "Gesendet von guestgate im Auftrag von {org} über {domain}.",
        "hook_subject": "{org}: ein Webhook-Endpunkt wurde abgeschaltet",
        "hook_body": "guestgate sendet die Ereignisse von {org} nicht mehr an {url}: {reason}.",
        "hook_hint": (
            "Beheben Sie den Fehler beim Empfänger, schalten Sie den Endpunkt wieder ein (Seite"
            " Webhooks der Konsole oder guestgate webhook enable) und senden Sie die verpassten"
            " Ereignisse erneut."
        ),
        "admin_reason": "Sie erhalten diese E-Mail als Administrator von {org} in guestgate.",
    },
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
# Plain-text parts must not be HTML-escaped; they are never interpreted as markup.
_text_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,  # noqa: S701 (text/plain: no markup to escape)
    undefined=StrictUndefined,
)


def language(tag: str | None) -> str:
    """``de``, ``de-DE``, ``de-AT`` → German; anything else → English."""
    primary = (tag or "en").split("-")[0].lower()
    return primary if primary in STRINGS else "en"


def header_safe(text: str) -> str:
    return "".join(" " if ord(c) < 32 or c in "\u2028\u2029\x85" else c for c in text).replace(
        "=?", "= ?"
    )


@dataclass(frozen=True, slots=True)
class Sender:
    address: str  # GUESTGATE_MAIL_FROM

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


@dataclass(frozen=True, slots=True)
class Mail:
    """A message ready for the wire: envelope, bytes (CRLF line ends) and its Message-ID."""

    sender: str
    recipients: list[str]
    data: bytes
    message_id: str
    smtputf8: bool = False

    def parsed(self) -> EmailMessage:
        """The message as the standard library reads it (for tests and tools)."""
        parsed = message_from_bytes(self.data, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _t(lang: str) -> dict[str, str]:
    return STRINGS[lang]


def build(
    payload: Payload,
    *,
    outbox_id: str,
    sender: Sender,
    now: datetime,
    subject: str | None = None,
) -> Mail:
    """The message for an outbox row; its Message-ID is derived from the row id."""
    lang = language(payload.language)
    strings = _t(lang)
    org = payload.org
    to = ("", payload.to)
    cc = None
    match payload:
        case InvitationMail():
            inviter = payload.inviter or org
            context: dict[str, Any] = {
                "reason": strings["invite_reason"].format(inviter=inviter, to=payload.to, org=org),
                "invited_by": strings["invited_by"].format(inviter=inviter),
                "message_from": strings["message_from"].format(inviter=inviter),
                "body": payload.body,
                "get_started": strings["get_started"],
                "or_open": strings["or_open"],
                "url": payload.redeem_url,
                "caution": strings["caution"],
                "expires": strings["expires"].format(date=payload.expires[:10])
                if payload.expires
                else None,
            }
            subject_line = strings["invite_subject"].format(org=org)
            template = "invitation"
            to = (payload.to_name or "", payload.to)
            cc = payload.cc
        case RequesterNotification():
            declined = payload.outcome == NOTICE_DECLINED
            outcome = "declined" if declined else "notify"
            if payload.outcome in APPROVAL_NOTICES:
                outcome = payload.outcome
            hint = strings["declined_hint"] if declined else None
            if payload.comment:
                hint = strings["comment"].format(comment=payload.comment)
            context = {
                "text": strings[f"{outcome}_body"].format(guest=payload.guest, org=org),
                "hint": hint,
            }
            subject_line = strings[f"{outcome}_subject"].format(guest=payload.guest)
            template = "notification"
        case RequesterSummary():
            count, held = len(payload.guests), len(payload.held)
            context = {
                "text": strings["summary_body"].format(count=count, org=org) if count else "",
                "guests": payload.guests,
                "held_text": strings["summary_held"].format(count=held) if held else "",
                "held": payload.held,  # the layout adds org and lang
            }
            key = "summary_subject" if count else "summary_held_subject"  # all held
            subject_line = strings[key].format(org=org, count=count or held)
            template = "summary"
        case WebhookDisabledNotice():
            context = {
                "text": strings["hook_body"].format(
                    org=org, url=payload.url, reason=payload.reason
                ),
                "hint": strings["hook_hint"],
                "reason": strings["admin_reason"].format(org=org),
            }
            subject_line = strings["hook_subject"].format(org=org)
            template = "notification"
        case LifecycleNotice():
            context, subject_line = lifecycle_context(payload, lang)
            template = "lifecycle"
        case OneTimeCodeMail():
            context = {
                "text": strings["code_body"].format(code=payload.code),
                "code": payload.code,
                "ignore": strings["code_ignore"],
                "reason": strings["code_reason"].format(to=payload.to, org=org),
            }
            subject_line = strings["code_subject"].format(org=org)
            template = "code"
    context = _layout(payload, strings, heading=subject_line, sender=sender) | context
    text = _text_env.get_template(f"{template}.txt").render(**context)
    html = _env.get_template(f"{template}.html").render(**context)
    return assemble(
        subject=subject or subject_line,
        sender=(f"{org} via guestgate", sender.address),
        to=to,
        cc=cc,
        message_id=message_id(outbox_id, sender.domain),
        date=now,
        text=text,
        html=html,
    )


def _layout(
    payload: Payload, strings: dict[str, str], *, heading: str, sender: Sender
) -> dict[str, Any]:
    """What every email shows around its message (templates/layout.*): the organisation's
    logo or initials and name, a heading that is the subject, why the recipient got it and
    who sent it from which domain."""
    org = payload.org
    return {
        "org": org,
        "initials": "".join(w[0] for w in org.split()[:2]).upper(),
        "logo_url": getattr(payload, "logo_url", None),
        "heading": heading,
        "reason": strings["notify_reason"].format(org=org),
        "sent_by": strings["sent_by"].format(org=org, domain=sender.domain),
        "lang": language(payload.language),
    }


def assemble(
    *,
    subject: str,
    sender: tuple[str, str],
    to: tuple[str, str],
    cc: tuple[str | None, str] | None,
    message_id: str,
    date: datetime,
    text: str,
    html: str,
) -> Mail:
    """A multipart/alternative message as bytes, built directly.

    The standard library's email objects cost ~4 ms a message; this costs a few percent of
    that. Header values are made safe first (`header_safe`: no line breaks, no encoded-word
    openers) and encoded per RFC 2047 when not ASCII; addresses are ones we validated. An
    address with a non-ASCII local part is written as UTF-8 and the message is marked for
    SMTPUTF8 (RFC 6531/6532).
    """
    recipients = [to[1]] + ([cc[1]] if cc else [])
    smtputf8 = not all(a.isascii() for a in (sender[1], *recipients))
    boundary = f"=_gg_{secrets.token_hex(12)}"
    headers = [
        f"Subject: {_encode_header(header_safe(subject))}",
        f"From: {_address(sender)}",
        f"To: {_address(to)}",
        *([f"Cc: {_address(cc)}"] if cc else []),
        f"Message-ID: {message_id}",
        f"Date: {format_datetime(date)}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = [
        f"--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
        for subtype, body in (("plain", text), ("html", html))
    ]
    data = "\r\n".join(headers) + "\r\n\r\n" + "".join(parts) + f"--{boundary}--\r\n"
    return Mail(
        sender=sender[1],
        recipients=recipients,
        data=data.encode("utf-8" if smtputf8 else "ascii"),
        message_id=message_id,
        smtputf8=smtputf8,
    )


_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


def _encode_header(value: str) -> str:
    if value.isascii() and len(value) <= 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _address(pair: tuple[str | None, str]) -> str:
    name, address = header_safe(pair[0] or "").strip(), pair[1]
    if not name:
        return address
    if not name.isascii() or len(name) > 900:
        shown = _encode_header(name)  # RFC 2047 words need no quoting; long ones are folded
    elif _SPECIALS.search(name):
        shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        shown = name
    return f"{shown} <{address}>"
