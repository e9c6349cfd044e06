"""Microsoft Graph over HTTP: timeouts and retries that honour Retry-After.

Graph's per-tenant invitation limit is kept by a pacer in the database (services/pacing.py).

Error policy:
- 429, 503 and 504 are retried (Retry-After when given, else exponential backoff with jitter);
  a request that cannot even connect is retried the same way;
- a request whose outcome is unknown (sent, then the answer timed out) is *not* retried here:
  `UnknownOutcome` lets the caller check first whether it took effect;
- other 4xx are the caller's fault and keep their status and Graph's code (`GraphRefused`);
- Graph failing or staying unreachable becomes 502/503/504 (`UpstreamError`).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from guestgate.adapters.tokens import Caller, KeyRing
from guestgate.domain.signing import KeySet, public_key_from_jwk
from guestgate.errors import (
    GraphRefused,
    Throttled,
    UnknownOutcome,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamUnavailable,
)

RETRY_STATUSES = frozenset({429, 503, 504})
MAX_RETRY_AFTER = 30.0


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    ceiling = min(8.0, 0.25 * 2 ** (attempt - 1))
    return (rng or random.SystemRandom()).uniform(ceiling / 2, ceiling)


def graph_error(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code") or "Request_BadRequest"), str(
            error.get("message") or "Microsoft Graph refused the request."
        )
    except (ValueError, AttributeError):
        return "Request_BadRequest", "Microsoft Graph refused the request."


class GraphClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        ca_file: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        )
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            verify=verify,
            trust_env=False,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.max_attempts = max_attempts
        self.sleep = sleep

    async def close(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        safe_to_repeat: bool = True,
    ) -> Any:
        """One Graph call with retries; the parsed JSON answer (None for 204)."""
        sent_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                response = await self.http.request(
                    method, path, json=json, params=params, headers=sent_headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                # Nothing reached Graph: repeating is always safe.
                if last:
                    raise UpstreamUnavailable(
                        "Microsoft Graph is unreachable.", code="GraphUnavailable"
                    ) from None
                await self.sleep(backoff(attempt))
                continue
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError):
                if not safe_to_repeat:
                    raise UnknownOutcome("Microsoft Graph did not answer in time.") from None
                if last:
                    raise UpstreamTimeout(
                        "Microsoft Graph did not answer in time.", code="GraphTimeout"
                    ) from None
                await self.sleep(backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES:
                wait = retry_after(response)
                if last or (wait is not None and wait > MAX_RETRY_AFTER):
                    seconds = int(wait if wait is not None else 5) or 1
                    if response.status_code == 429:
                        raise Throttled(
                            "Microsoft Graph is throttling this tenant; retry later.",
                            retry_after=seconds,
                            code="GraphThrottled",
                        )
                    if response.status_code == 504:
                        raise UpstreamTimeout(
                            "Microsoft Graph is unavailable.",
                            code="GraphTimeout",
                            retry_after=seconds,
                        )
                    raise UpstreamUnavailable(
                        "Microsoft Graph is unavailable.",
                        code="GraphUnavailable",
                        retry_after=seconds,
                    )
                await self.sleep(wait if wait is not None else backoff(attempt))
                continue
            if response.status_code >= 500:
                raise UpstreamFailed(
                    f"Microsoft Graph failed ({response.status_code}).", code="GraphError"
                )
            if response.status_code >= 400:
                code, message = graph_error(response)
                raise GraphRefused(message, graph_status=response.status_code, code=code)
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise UpstreamFailed(
                    "Microsoft Graph sent an answer that is not JSON.", code="GraphError"
                ) from None
        raise AssertionError("unreachable")


class ForwardingAuthenticator:
    """Graph mode with the caller's own token: Graph validates it; we learn the tenant.

    The tenant comes from `GET /v1.0/organization` made with the caller's token and is cached
    per token (by its hash) until the token expires, at most an hour. Permissions are Graph's
    to enforce, so `enforces_roles` is False.
    """

    enforces_roles = False

    def __init__(self, graph: GraphClient, *, clock: Callable[[], float] = time.time) -> None:
        self.graph = graph
        self.clock = clock
        self._cache: dict[str, Caller] = {}

    def forget_app(self, app_id: str) -> None:
        """Nothing to forget: Graph decides whether a forwarded token still works."""

    async def verify(self, token: str) -> Caller:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at > now:
            return cached
        organization = await self.graph.call("GET", "/v1.0/organization", token=token)
        try:
            org = organization["value"][0]
            tenant_id, name = str(org["id"]), org.get("displayName")
        except (KeyError, IndexError, TypeError):
            raise UpstreamFailed(
                "Microsoft Graph answered without an organization.", code="GraphError"
            ) from None
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            claims = {}
        exp = claims.get("exp")
        expires = min(float(exp), now + 3600) if isinstance(exp, int | float) else now + 300
        app_id = claims.get("appid") or claims.get("azp")
        caller = Caller(
            tenant_id=tenant_id,
            app_id=str(app_id) if isinstance(app_id, str) else "",
            object_id=str(claims.get("oid") or ""),
            roles=frozenset(r for r in claims.get("roles", []) if isinstance(r, str))
            if isinstance(claims.get("roles"), list)
            else frozenset(),
            expires_at=expires,
            kid="",
            tenant_name=str(name) if name else None,
        )
        if len(self._cache) > 10_000:
            self._cache = {k: v for k, v in self._cache.items() if v.expires_at > now}
        self._cache[key] = caller
        return caller


class JwksKeys:
    """A tenant's signing keys from its JWKS document, refreshed like our own key ring."""

    def __init__(self, url: str, *, ca_file: str | None = None) -> None:
        self.url = url
        self.ca_file = ca_file
        self.ring = KeyRing(self._load)

    async def _load(self) -> KeySet:
        verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        async with httpx.AsyncClient(verify=verify, trust_env=False, timeout=10) as http:
            try:
                answer = (await http.get(self.url)).raise_for_status().json()
            except (httpx.HTTPError, ValueError):
                raise UpstreamUnavailable(
                    "The tenant's signing keys could not be loaded.", code="KeysUnavailable"
                ) from None
        keys = {}
        for jwk in answer.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig" and "kid" in jwk:
                keys[str(jwk["kid"])] = public_key_from_jwk(jwk)
        return KeySet(signing_kid="", signing_key=None, public_keys=keys, jwks=answer)

    async def public_key(self, kid: str) -> RSAPublicKey | None:
        return await self.ring.public_key(kid)

    async def knows(self, kid: str) -> bool:
        return await self.ring.knows(kid)


class AppTokenProvider:
    """guestgate's own app registration in the customer's tenant: a Graph token via MSAL."""

    def __init__(
        self, *, client_id: str, secret: str, tenant: str, authority: str, ca_file: str | None
    ) -> None:
        import msal
        import requests

        session = requests.Session()
        # REQUESTS_CA_BUNDLE would override `verify`; the configured CA file must win.
        session.trust_env = False
        session.verify = ca_file or True
        self.app = msal.ConfidentialClientApplication(
            client_id,
            client_credential=secret,
            authority=f"{authority}/{tenant}",
            instance_discovery=False,
            http_client=session,
        )

    async def token(self) -> str:
        result = await asyncio.to_thread(
            self.app.acquire_token_for_client, ["https://graph.microsoft.com/.default"]
        )
        if "access_token" not in result:
            raise UpstreamUnavailable(
                f"guestgate could not get a Graph token: {result.get('error', 'unknown error')}.",
                code="GraphCredentialsRefused",
            )
        return str(result["access_token"])
