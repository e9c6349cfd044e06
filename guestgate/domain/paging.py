"""Opaque, tamper-proof keyset cursors for list endpoints."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from guestgate.errors import ValidationError


def encode_cursor(key: bytes, scope: str, values: tuple[str, str]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=")
    tag = hmac.new(key, scope.encode() + b"|" + payload, hashlib.sha256).digest()[:16]
    return f"{payload.decode()}.{base64.urlsafe_b64encode(tag).rstrip(b'=').decode()}"


def decode_cursor(key: bytes, scope: str, cursor: str) -> tuple[str, str]:
    """The keyset position in `cursor`; a cursor of another tenant or list is refused."""
    error = ValidationError("The paging token is invalid or expired.", code="InvalidSkipToken")
    payload, _, tag = cursor.partition(".")
    if not payload or not tag or len(cursor) > 512:
        raise error
    expected = hmac.new(key, scope.encode() + b"|" + payload.encode(), hashlib.sha256).digest()[:16]
    try:
        given = base64.urlsafe_b64decode(tag + "=" * (-len(tag) % 4))
        if not hmac.compare_digest(given, expected):
            raise error
        values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        raise error from None
    if not (
        isinstance(values, list) and len(values) == 2 and all(isinstance(v, str) for v in values)
    ):
        raise error
    return values[0], values[1]
