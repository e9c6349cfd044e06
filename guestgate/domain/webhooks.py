"""Webhook endpoints and deliveries: Standard Webhooks 1.0 signing, retries, target rules.

Signing: ``v1,`` + base64(HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")),
keyed with the secret's bytes (``whsec_`` + standard base64, which the reference libraries
decode; they silently drop the urlsafe alphabet's ``-`` and ``_``). After a rotation both the
new and the previous secret sign every delivery until the overlap ends.

Targets (SSRF): an endpoint must be https and every address its name resolves to must be
public, unless the operator allows private targets (development and tests). Addresses are
checked when the endpoint is saved and again before every delivery, since a name may
resolve elsewhere later; redirects are never followed (the spec counts 3xx as a failure).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from guestgate.errors import ValidationError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a marker for secret scanners)
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret still signs for this long
MAX_URL_LENGTH = 2048

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"

# The spec's example schedule: the delay before each attempt after the first (~75.5 h).
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
MAX_RETRY_AFTER = 86400.0
JITTER = 0.2  # each delay is drawn from ±20 % of the schedule's, so retries do not align
EXCERPT_BYTES = 500  # of a receiver's answer, kept in the delivery log
LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]  # empty: every type
    enabled: bool
    disabled_reason: str | None
    created_at: str
    rotated_at: str | None = None

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


@dataclass(frozen=True, slots=True)
class SealedSecrets:
    """An endpoint's signing secrets as stored: sealed, the previous one with its end."""

    current: str
    previous: str | None
    previous_until: str | None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """One delivery leased to a worker for one attempt (counted in `attempts`)."""

    id: str
    endpoint_id: str
    tenant_id: str
    event_id: str
    attempts: int
    url: str
    body: str
    secrets: SealedSecrets


@dataclass(frozen=True, slots=True)
class Attempt:
    """One line of an endpoint's delivery log."""

    id: int
    delivery_id: str
    event_id: str
    attempted_at: str
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True, slots=True)
class Response:
    """What a receiver answered, as the sender saw it."""

    status_code: int | None  # None: no answer (refused, timed out, target not allowed)
    latency_ms: int
    retry_after: float | None = None
    excerpt: str | None = None
    error: str | None = None
    content_type: str | None = None


def new_secret(raw: bytes) -> str:
    """The secret as users see it: ``whsec_`` and standard base64 of `raw`."""
    if not 24 <= len(raw) <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: list[str], *, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The Standard Webhooks headers (and Svix's names for the same values)."""
    signature = " ".join(sign(s, msg_id, timestamp, body) for s in secrets)
    values = {"id": msg_id, "timestamp": str(timestamp), "signature": signature}
    out = {f"webhook-{k}": v for k, v in values.items()}
    out.update({f"svix-{k}": v for k, v in values.items()})
    out["content-type"] = "application/json"
    return out


def signing_secrets(current: str, previous: str | None, until: str | None, now: str) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during the overlap."""
    if previous is not None and until is not None and now < until:
        return [current, previous]
    return [current]


def next_attempt(
    now: datetime,
    attempts: int,
    *,
    retry_after: float | None,
    scale: float = 1.0,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after `attempts` failed ones; None when the schedule is spent.

    A receiver's ``Retry-After`` (429, 502, 503, 504) is honoured: never sooner than it asks,
    up to a day.
    """
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_SCHEDULE[attempts - 1] * scale
    delay *= 1 + JITTER * (2 * (rng or random).random() - 1)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + timedelta(seconds=delay)


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def is_gone(status_code: int | None) -> bool:
    """410 Gone: the receiver asks us to stop; the endpoint is disabled."""
    return status_code == 410


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery goes: the URL's parts, checked."""

    scheme: str
    host: str  # a name or an address literal (without brackets)
    port: int
    path: str  # path and query, as sent


def check_url(url: str, *, allow_private: bool) -> Target:
    """An endpoint URL's shape; addresses are checked by `address_allowed` once resolved."""
    problem = "The webhook URL must be an absolute https URL without credentials."
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationError(problem, code="InvalidWebhookUrl")
    if not url.isascii():
        raise ValidationError(
            "The webhook URL must be ASCII: write an international host name in its xn-- form"
            " and percent-encode the path.",
            code="InvalidWebhookUrl",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(problem, code="InvalidWebhookUrl") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise ValidationError(problem, code="InvalidWebhookUrl")
    if parts.fragment:
        raise ValidationError(
            "The webhook URL must not carry a fragment.", code="InvalidWebhookUrl"
        )
    host = parts.hostname.rstrip(".").lower()
    literal = _literal(host)
    if literal is not None and not address_allowed(str(literal), allow_private=allow_private):
        raise ValidationError(refused(host), code="WebhookTargetNotAllowed")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def without_query(url: str) -> str:
    """The URL as the audit trail and logs show it: receivers (Power Automate, Logic Apps)
    often carry their own secret in the query string."""
    return url.split("?", 1)[0].split("#", 1)[0]


def refused(host: str) -> str:
    return (
        f"The webhook URL's host {host[:253]} is or resolves to a loopback, private,"
        " link-local or otherwise non-public address."
    )


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether a resolved address may be sent to: public unicast, or anything if allowed.

    IPv4 addresses hidden in IPv6 (mapped ``::ffff:a.b.c.d``, NAT64, 6to4, Teredo) are judged
    by the IPv4 address they carry.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return not ip.is_unspecified and not ip.is_multicast
    if isinstance(ip, ipaddress.IPv6Address):
        inner: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip.teredo is not None:
            inner = ip.teredo[1]
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return _public(inner)
    return _public(ip)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast and not ip.is_reserved
