"""RS256 access tokens: the key ring and validation (keys and signing: domain/signing.py).

Validation is deliberately narrower than the JOSE specs allow (RFC 8725): RS256 only, the
key is chosen by `kid` from our own key set and nothing else (`jku`, `x5u`, `jwk` and `x5c`
headers are never looked at), any `crit` header is refused, `iss` and `aud` are compared
exactly, and `exp`/`nbf` get at most five minutes of leeway.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from guestgate.domain.signing import KeySet
from guestgate.errors import AuthenticationError

MAX_TOKEN_BYTES = 16 * 1024
KEY_REFRESH_SECONDS = 30.0  # the default of GUESTGATE_KEY_REFRESH_SECONDS
UNKNOWN_KID_REFRESH_SECONDS = 5.0


MAX_TOKEN_LIFETIME = 2 * 86400
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


KeyLoader = Callable[[], Awaitable[KeySet]]


class KeyRing:
    """The process's view of the key set, refreshed from the database.

    Refreshes happen every `refresh_seconds` (a rotation done by another process is picked
    up) and, at most once per 5 s and single-flight, when a token names a kid we do not know.
    """

    def __init__(
        self,
        loader: KeyLoader,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_seconds: float = KEY_REFRESH_SECONDS,
    ) -> None:
        self._loader = loader
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._keys: KeySet | None = None
        self._loaded_at = -1e9
        self._refreshing: asyncio.Task[KeySet] | None = None

    async def current(self) -> KeySet:
        if self._keys is None or self._clock() - self._loaded_at > self._refresh_seconds:
            return await self.refresh()
        return self._keys

    async def refresh(self) -> KeySet:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._load())
        return await asyncio.shield(self._refreshing)

    async def _load(self) -> KeySet:
        keys = await self._loader()
        self._keys, self._loaded_at = keys, self._clock()
        return keys

    async def knows(self, kid: str) -> bool:
        return kid in (await self.current()).public_keys

    async def public_key(self, kid: str) -> RSAPublicKey | None:
        keys = await self.current()
        key = keys.public_keys.get(kid)
        if key is None and self._clock() - self._loaded_at > UNKNOWN_KID_REFRESH_SECONDS:
            key = (await self.refresh()).public_keys.get(kid)
        return key


@dataclass(frozen=True, slots=True)
class Caller:
    """A validated access token: who calls, for which tenant, with which permissions."""

    tenant_id: str
    app_id: str
    object_id: str
    roles: frozenset[str]
    expires_at: float
    kid: str
    tenant_name: str | None = None


class PublicKeys(Protocol):
    """Where a verifier finds the key for a `kid`: our key ring, or a tenant's JWKS."""

    async def public_key(self, kid: str) -> RSAPublicKey | None: ...
    async def knows(self, kid: str) -> bool: ...


class TokenVerifier:
    enforces_roles = True
    """Validates bearer tokens; a token once validated is trusted until it expires.

    `public_url` is the issuer base: guestgate's own in local mode, the Entra authority when
    guestgate validates a customer's tokens (graph mode with its own app credentials).

    The cache is bounded and keyed by the whole token, so a cached answer can only be reused
    for the exact bytes that were verified. The kid is re-checked against the current key set
    so retiring a key ends its tokens within one key refresh.
    """

    def __init__(
        self,
        keyring: PublicKeys,
        *,
        public_url: str,
        tenants: frozenset[str] | None = None,
        audiences: frozenset[str],
        leeway: int = 300,
        cache_size: int = 50_000,
        clock: Callable[[], float] = time.time,
        tenant_exists: Callable[[str], Awaitable[bool]] | None = None,
        app_exists: Callable[[str, str], Awaitable[bool]] | None = None,
        recheck_seconds: float = 30.0,
    ) -> None:
        self._keyring = keyring
        self._tenant_exists = tenant_exists
        self._app_exists = app_exists
        self._recheck_seconds = recheck_seconds
        self._checked: dict[str, float] = {}  # token: when its tenant and app were last found
        self._public_url = public_url
        self._tenants = tenants
        self._audiences = audiences
        self._leeway = min(leeway, 300)
        self._cache: OrderedDict[str, Caller] = OrderedDict()
        self._cache_size = cache_size
        self._clock = clock

    async def verify(self, token: str) -> Caller:
        now = self._clock()
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + self._leeway > now and await self._keyring.knows(cached.kid):
                if self._checked.get(token, 0.0) + self._recheck_seconds > now:
                    return cached
                await self._check_exists(token, cached, now)
                return cached
            self._forget(token)
        caller = await self._verify(token, now)
        await self._check_exists(token, caller, now)
        self._cache[token] = caller
        if len(self._cache) > self._cache_size:
            self._forget(next(iter(self._cache)))
        return caller

    async def _check_exists(self, token: str, caller: Caller, now: float) -> None:
        # Checked at a token's first use and again every `recheck_seconds`: a deleted tenant's
        # or app's tokens stop within that time in every process (at once in the one that
        # deleted the app, see `forget_app`).
        if self._tenant_exists is not None and not await self._tenant_exists(caller.tenant_id):
            self._forget(token)
            raise AuthenticationError("the tenant of this access token does not exist")
        if self._app_exists is not None and not await self._app_exists(
            caller.tenant_id, caller.app_id
        ):
            self._forget(token)
            raise AuthenticationError("the app of this access token does not exist")
        self._checked[token] = now

    def _forget(self, token: str) -> None:
        self._cache.pop(token, None)
        self._checked.pop(token, None)

    def forget_app(self, app_id: str) -> None:
        """Drop the cached tokens of a deleted app: its next call is refused."""
        for token in [t for t, c in self._cache.items() if c.app_id == app_id]:
            self._forget(token)

    async def _verify(self, token: str, now: float) -> Caller:
        if len(token) > MAX_TOKEN_BYTES or not _COMPACT_JWS.fullmatch(token):
            # Three unpadded base64url segments (RFC 7515 §7.1), nothing else.
            raise AuthenticationError("the access token is malformed")
        header = _header(token)
        if header.get("alg") != "RS256":
            raise AuthenticationError("the access token must be signed with RS256")
        if "crit" in header or header.get("b64") is not None:
            raise AuthenticationError("the access token carries unsupported critical headers")
        if header.get("typ", "JWT") not in ("JWT", "at+jwt", "application/at+jwt"):
            raise AuthenticationError("the access token has an unexpected type")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= 128:
            raise AuthenticationError("the access token names no signing key")
        key = await self._keyring.public_key(kid)
        if key is None:
            raise AuthenticationError("the access token was signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "tid"],
                    "verify_aud": False,
                    "verify_iss": False,
                },
                leeway=self._leeway,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the access token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("the access token is not valid yet") from None
        except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError):
            raise AuthenticationError("the access token is invalid") from None
        return self._check_claims(claims, kid, now)

    def _check_claims(self, claims: dict[str, Any], kid: str, now: float) -> Caller:
        tid, aud, iss = claims.get("tid"), claims.get("aud"), claims.get("iss")
        if not isinstance(tid, str) or len(tid) != 36:
            raise AuthenticationError("the access token has no valid tenant")
        # Exactly one audience string, compared whole (no arrays, no prefixes).
        if not isinstance(aud, str) or aud not in self._audiences:
            raise AuthenticationError("the access token is not meant for this API")
        if self._tenants is not None and tid not in self._tenants:
            raise AuthenticationError("the access token belongs to another tenant")
        if iss != f"{self._public_url}/{tid}/v2.0":
            raise AuthenticationError("the access token has an unexpected issuer")
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise AuthenticationError("the access token is invalid")
        if exp > now + MAX_TOKEN_LIFETIME:
            # No issuer we trust mints tokens this long-lived (Entra's longest is one day).
            raise AuthenticationError("the access token lives implausibly long")
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthenticationError("the access token has malformed roles")
        app_id = claims.get("appid") or claims.get("azp")
        if not isinstance(app_id, str):
            raise AuthenticationError("the access token names no application")
        object_id = claims.get("oid")
        return Caller(
            tenant_id=tid,
            app_id=app_id,
            object_id=object_id if isinstance(object_id, str) else app_id,
            roles=frozenset(roles),
            expires_at=float(exp),
            kid=kid,
        )


def _header(token: str) -> dict[str, Any]:
    segment = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise AuthenticationError("the access token is malformed") from None
    if not isinstance(header, dict):
        raise AuthenticationError("the access token is malformed")
    return header
