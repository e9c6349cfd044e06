"""Invitations: what a valid request is, tickets, statuses and their transitions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import idna

from guestgate.domain.emails import EmailAddress, parse_email
from guestgate.domain.randomness import SYSTEM, Randomness
from guestgate.domain.tenants import is_guid
from guestgate.domain.text import check_text
from guestgate.domain.timestamps import iso
from guestgate.domain.users import GUEST, MEMBER
from guestgate.errors import ValidationError

PENDING = "PendingAcceptance"
COMPLETED = "Completed"
REVOKED = "Revoked"
EXPIRED = "Expired"
# The guest declined on the consent page. Microsoft Graph has no such status; guestgate's own.
DECLINED = "Declined"
STATUSES = (PENDING, COMPLETED, REVOKED, EXPIRED, DECLINED)
# Statuses whose redeem link no longer works (and looks like any unknown link).
DEAD_LINK = (REVOKED, DECLINED)

MAX_DISPLAY_NAME = 256
MAX_URL = 2048
MAX_MORE = 4000
MAX_MESSAGE_BODY = 10_000
MAX_SPONSORS = 5
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")


@dataclass(frozen=True, slots=True)
class CcRecipient:
    name: str | None
    address: str


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """Graph's invitedUserMessageInfo: the invitation email's text, language and CC."""

    customized_message_body: str | None = None
    message_language: str | None = None
    cc_recipients: tuple[CcRecipient, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Graph's JSON shape; also how it is stored."""
        return {
            "customizedMessageBody": self.customized_message_body,
            "messageLanguage": self.message_language,
            "ccRecipients": [
                {"emailAddress": {"name": r.name, "address": r.address}} for r in self.cc_recipients
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageInfo:
        """The stored shape back; it was validated when the invitation was made."""
        return cls(
            customized_message_body=data.get("customizedMessageBody"),
            message_language=data.get("messageLanguage"),
            cc_recipients=tuple(
                CcRecipient(
                    name=r["emailAddress"].get("name"), address=r["emailAddress"]["address"]
                )
                for r in data.get("ccRecipients") or []
            ),
        )


@dataclass(frozen=True, slots=True)
class InviteRequest:
    """A validated invitation request; building one is the validation."""

    email: EmailAddress
    redirect_url: str | None
    send_message: bool
    display_name: str | None
    requested_by: EmailAddress | None
    more: dict[str, Any] = field(default_factory=dict)
    message_info: MessageInfo | None = None
    user_type: str = GUEST
    reset_user_id: str | None = None  # Graph's resetRedemption with invitedUser.id
    sponsors: tuple[str, ...] = ()
    # An entry of a bulk call, which a client retries whole when one entry fails: an equal
    # pending invitation the same app made within REPEAT_WINDOW is the answer, as it is.
    retry_safe: bool = False


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    tenant_id: str
    user_id: str
    email: str
    status: str
    redirect_url: str
    send_message: bool
    requested_by: str | None
    more: dict[str, Any]
    message_info: MessageInfo | None
    created_by_app: str | None
    created_at: str
    expires_at: str | None
    completed_at: str | None
    revoked_at: str | None

    def status_at(self, now: datetime) -> str:
        """The status a caller sees: a pending invitation past its expiry is Expired."""
        if self.status == PENDING and self.expires_at is not None and self.expires_at <= iso(now):
            return EXPIRED
        return self.status


def new_ticket(rng: Randomness = SYSTEM) -> str:
    """256 random bits, base64url: the secret in a redeem link."""
    return rng.token(32)


REPEAT_WINDOW = timedelta(days=1)


def derived_ticket(key: bytes, invitation_id: str) -> str:
    """An invitation's first ticket, from a server key and its id: 256 bits nobody without
    the key can compute, which the server can compute again to answer a retried request
    with the link it mailed. A resend's ticket is random, and it ends the derived one."""
    digest = hmac.new(key, f"invitation ticket:{invitation_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def ticket_hash(ticket: str) -> str:
    """Only this is stored: a database dump cannot be turned into working links."""
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


def expiry(now: datetime, lifetime_days: int) -> str | None:
    return None if lifetime_days == 0 else iso(now + timedelta(days=lifetime_days))


def redeem_url(public_url: str, tenant_id: str, user_id: str, ticket: str) -> str:
    return f"{public_url}/redeem/?tenant={tenant_id}&user={user_id}&ticket={ticket}&ver=2.0"


def check_redirect_url(value: str, *, field: str = "inviteRedirectUrl") -> str:
    """An absolute https URL (http only for localhost), never fetched, returned as the ASCII
    URI that is stored: a Unicode host becomes its A-label, other non-ASCII characters are
    percent-encoded (UTF-8), so every header, page and email can carry it later.

    Remembered for the URLs seen last (a refusal is not: it raises each time): an app sends
    the same few redirect URLs again and again, and a bulk file often one for every row,
    each checked when the file arrives and again when its row is invited."""
    return _checked_redirect_url(value, field)


@lru_cache(maxsize=1024)
def _checked_redirect_url(value: str, field: str) -> str:
    code = "InvalidRedirectUrl"
    if not value or len(value) > MAX_URL:
        raise ValidationError(f"{field} must be 1-{MAX_URL} characters.", code=code)
    if "\\" in value or any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in value):
        raise ValidationError(
            f"{field} contains spaces, control or invisible characters, or '\\'.", code=code
        )
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValidationError(f"{field} is not a valid URL.", code=code) from None
    if parts.scheme not in ("https", "http") or not host or not parts.netloc:
        raise ValidationError(f"{field} must be an absolute https URL.", code=code)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(f"{field} must not contain credentials.", code=code)
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValidationError(f"{field} must use https (http only for localhost).", code=code)
    netloc = parts.netloc
    if not host.startswith("[") and ":" not in host:
        a_label = _a_label(host)
        if a_label is None:
            raise ValidationError(f"{field} has an invalid host name.", code=code)
        if not netloc.isascii():
            netloc = a_label if port is None else f"{a_label}:{port}"
    uri = urlunsplit(
        (parts.scheme, netloc, _encode(parts.path), _encode(parts.query), _encode(parts.fragment))
    )
    if "#" in value and not parts.fragment:
        uri += "#"  # urlunsplit drops an empty fragment; keep the URL as it was given
    if len(uri) > MAX_URL:
        raise ValidationError(
            f"{field} is longer than {MAX_URL} characters once percent-encoded.", code=code
        )
    return uri


# Unicode categories no URL needs: controls, format characters (zero-width space, bidi
# overrides, tags), surrogates, private use, unassigned, separators (spaces, line breaks).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
# What RFC 3986 allows unencoded in a path, query or fragment (a "%" only as an escape).
_URI_SAFE = "!$&'()*+,;=:@/?~-._%"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _encode(part: str) -> str:
    return quote(_LONE_PERCENT.sub("%25", part), safe=_URI_SAFE)


@lru_cache(maxsize=4096)
def _a_label(host: str) -> str | None:
    """The IDNA (UTS 46) A-label form of a host name, or None if it is not a valid one: ~40 µs,
    and apps redirect to few hosts."""
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def check_more(value: dict[str, Any]) -> dict[str, Any]:
    serialized = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(serialized) > MAX_MORE:
        raise ValidationError(
            f"more is {len(serialized)} characters serialized; the limit is {MAX_MORE}.",
            code="MoreTooLarge",
        )
    return value


def check_language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValidationError(
            "messageLanguage must be a language tag such as en-US or de.",
            code="InvalidMessageLanguage",
        )
    return value


def build_invite_request(
    *,
    email: str | None,
    redirect_url: str | None = None,
    send_message: bool = False,
    display_name: str | None = None,
    requested_by: str | None = None,
    more: dict[str, Any] | None = None,
    message_body: str | None = None,
    message_language: str | None = None,
    cc: list[tuple[str | None, str]] | None = None,
    user_type: str = GUEST,
    reset_user_id: str | None = None,
    sponsors: list[str] | None = None,
) -> InviteRequest:
    """Validate every field of an invitation; raises ValidationError naming the rule."""
    address = parse_email(email or "")
    name = None
    if display_name is not None:
        name = check_text(
            display_name,
            field="invitedUserDisplayName",
            code="InvalidDisplayName",
            max_length=MAX_DISPLAY_NAME,
        ).strip()
    requester = None
    if requested_by is not None and requested_by != "":
        requester = parse_email(requested_by, field="requestedBy", code="InvalidRequestedBy")
    info = None
    if message_body is not None or message_language is not None or cc:
        if cc is not None and len(cc) > 1:
            raise ValidationError(
                "ccRecipients takes at most one recipient.", code="TooManyCcRecipients"
            )
        body = None
        if message_body is not None:
            body = check_text(
                message_body,
                field="customizedMessageBody",
                code="InvalidMessageBody",
                max_length=MAX_MESSAGE_BODY,
                allow_line_breaks=True,
                allow_empty=True,
            )
        recipients = tuple(
            CcRecipient(
                name=None
                if cc_name is None
                else check_text(
                    cc_name,
                    field="ccRecipients name",
                    code="InvalidCcRecipient",
                    max_length=MAX_DISPLAY_NAME,
                    allow_empty=True,
                ),
                address=parse_email(
                    cc_address, field="ccRecipients address", code="InvalidCcRecipient"
                ).address,
            )
            for cc_name, cc_address in (cc or [])
        )
        info = MessageInfo(
            customized_message_body=body,
            message_language=None if message_language is None else check_language(message_language),
            cc_recipients=recipients,
        )
    if user_type not in (GUEST, MEMBER):
        raise ValidationError("invitedUserType must be Guest or Member.", code="InvalidUserType")
    sponsor_ids = tuple(dict.fromkeys(s.lower() for s in sponsors or []))
    if len(sponsor_ids) > MAX_SPONSORS or not all(is_guid(s) for s in sponsor_ids):
        raise ValidationError(
            f"invitedUserSponsors takes at most {MAX_SPONSORS} user ids.", code="InvalidSponsor"
        )
    if reset_user_id is not None and not is_guid(reset_user_id):
        raise ValidationError("invitedUser.id must be a user id.", code="InvalidInvitedUser")
    return InviteRequest(
        user_type=user_type,
        reset_user_id=None if reset_user_id is None else reset_user_id.lower(),
        sponsors=sponsor_ids,
        email=address,
        redirect_url=None if redirect_url is None else check_redirect_url(redirect_url),
        send_message=send_message,
        display_name=name,
        requested_by=requester,
        more=check_more(more or {}),
        message_info=info,
    )
