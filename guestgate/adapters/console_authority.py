"""Entra as the admin console's OpenID provider in Microsoft 365 mode: discovery, the JWKS,
the code exchange and a full check of the ID token (signature with the authority's keys,
`iss`, `aud`, `exp`, `nbf`, `iat`, `nonce`, `tid`). What the console makes of the token is
services/console_m365.py's.
"""

from __future__ import annotations

import secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from guestgate.adapters.graph import JwksKeys
from guestgate.config import ConsoleSettings
from guestgate.errors import AuthenticationError, UpstreamUnavailable

DISCOVERY_TTL_SECONDS = 3600.0
MAX_ANSWER_BYTES = 256 * 1024
LEEWAY_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Endpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


class Authority:
    """The configured Entra authority: discovery, code redemption, ID token checks."""

    def __init__(self, settings: ConsoleSettings, *, ca_file: str | None, timeout: float) -> None:
        assert settings.authority is not None
        assert settings.client_id is not None
        self.authority = settings.authority
        self.client_id = settings.client_id
        self._secret = settings.client_secret
        self.ca_file = ca_file
        self.timeout = min(timeout, 30.0)
        self._endpoints: tuple[float, Endpoints] | None = None
        self._keys: JwksKeys | None = None

    def _http(self) -> httpx.AsyncClient:
        # The configured CA file wins over REQUESTS_CA_BUNDLE / SSL_CERT_FILE (trust_env off).
        verify = (
            ssl.create_default_context(cafile=self.ca_file)
            if self.ca_file
            else ssl.create_default_context()
        )
        return httpx.AsyncClient(verify=verify, trust_env=False, timeout=self.timeout)

    async def _json(self, response: httpx.Response) -> dict[str, Any]:
        if len(response.content) > MAX_ANSWER_BYTES:
            raise UpstreamUnavailable(
                "The sign-in authority's answer is too large.", code="AuthorityUnavailable"
            )
        try:
            found = response.json()
        except ValueError:
            raise UpstreamUnavailable(
                "The sign-in authority answered with something that is not JSON.",
                code="AuthorityUnavailable",
            ) from None
        if not isinstance(found, dict):
            raise UpstreamUnavailable(
                "The sign-in authority's answer is not a JSON object.", code="AuthorityUnavailable"
            )
        return found

    async def endpoints(self) -> Endpoints:
        """The authority's discovery document, cached for an hour."""
        now = time.monotonic()
        if self._endpoints is not None and now - self._endpoints[0] < DISCOVERY_TTL_SECONDS:
            return self._endpoints[1]
        url = f"{self.authority}/.well-known/openid-configuration"
        async with self._http() as http:
            try:
                response = await http.get(url)
            except httpx.HTTPError:
                raise UpstreamUnavailable(
                    "The sign-in authority could not be reached; try again in a moment.",
                    code="AuthorityUnavailable",
                ) from None
            if response.status_code != 200:
                raise UpstreamUnavailable(
                    f"The sign-in authority's discovery document answered {response.status_code}.",
                    code="AuthorityUnavailable",
                )
            doc = await self._json(response)
        try:
            found = Endpoints(
                issuer=_text(doc, "issuer"),
                authorization_endpoint=_text(doc, "authorization_endpoint"),
                token_endpoint=_text(doc, "token_endpoint"),
                jwks_uri=_text(doc, "jwks_uri"),
                end_session_endpoint=doc.get("end_session_endpoint")
                if isinstance(doc.get("end_session_endpoint"), str)
                else None,
            )
        except KeyError as exc:
            raise UpstreamUnavailable(
                f"The sign-in authority's discovery document has no {exc.args[0]}.",
                code="AuthorityUnavailable",
            ) from None
        if "{tenantid}" in found.issuer:
            raise UpstreamUnavailable(
                "GUESTGATE_CONSOLE_AUTHORITY must name the tenant (…/{tenant-id}/v2.0), not"
                " common or organizations.",
                code="AuthorityUnavailable",
            )
        if self._keys is None or self._keys.url != found.jwks_uri:
            self._keys = JwksKeys(found.jwks_uri, ca_file=self.ca_file)
        self._endpoints = (now, found)
        return found

    async def redeem(self, *, code: str, verifier: str, redirect_uri: str) -> str:
        """The ID token for an authorization code (PKCE verifier; the secret if there is one)."""
        endpoints = await self.endpoints()
        form = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "scope": "openid profile email",
        }
        if self._secret is not None:
            form["client_secret"] = self._secret
        async with self._http() as http:
            try:
                response = await http.post(endpoints.token_endpoint, data=form)
            except httpx.HTTPError:
                raise UpstreamUnavailable(
                    "The sign-in authority could not be reached; try again in a moment.",
                    code="AuthorityUnavailable",
                ) from None
            answer = await self._json(response)
        if response.status_code != 200:
            error = str(answer.get("error", "error"))[:64]
            text = str(answer.get("error_description", ""))[:200]
            raise AuthenticationError(f"The authority refused the code ({error}). {text}".strip())
        token = answer.get("id_token")
        if not isinstance(token, str) or not token or len(token) > 16_384:
            raise AuthenticationError("The authority's answer carries no ID token.")
        return token

    async def check_id_token(
        self, token: str, *, nonce: str, tenant_id: str | None
    ) -> dict[str, Any]:
        """The ID token's claims once signature, issuer, audience, times and nonce hold."""
        endpoints = await self.endpoints()
        assert self._keys is not None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthenticationError("The ID token is not a JSON Web Token.") from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise AuthenticationError(
                "The ID token is not signed with one of the authority's keys."
            )
        key = await self._keys.public_key(str(header["kid"])[:128])
        if key is None:
            raise AuthenticationError(
                "The ID token is not signed with one of the authority's keys."
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=endpoints.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "oid", "tid"]},
            )
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"The ID token is not valid: {exc}.") from None
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise AuthenticationError("The ID token was not issued for this sign-in (nonce).")
        if tenant_id is not None and str(claims.get("tid", "")).lower() != tenant_id.lower():
            raise AuthenticationError("The ID token is of another tenant.")
        return claims


def _text(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise KeyError(name)
    return value
