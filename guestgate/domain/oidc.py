"""OpenID Connect sign-in rules, as Entra's v2 endpoints speak them: pure, time passed in.

The authorization request is checked in two stages (RFC 6749 §4.1.2.1): until the client
and its redirect URI are known good, an error is shown on a page and never redirected;
after that, errors go back to the app at its redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from guestgate.domain.apps import App, redirect_uri_matches
from guestgate.domain.users import ACCEPTED, GUEST, MEMBER, PENDING, User
from guestgate.errors import SignInPageError, SignInRedirectError

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
RESPONSE_MODES = ("query", "form_post")
CODE_LIFETIME_SECONDS = 600  # RFC 9700 §4.1.2: at most ten minutes
REFRESH_LIFETIME_SECONDS = 90 * 86400  # Entra's refresh tokens live 90 days
REQUEST_LIFETIME_SECONDS = 1800  # how long a sign-in page's pending request stays usable
MAX_PARAM = 2048
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256 digest


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A checked authorization request: what a code, once issued, is bound to."""

    tenant_id: str
    client_id: str
    redirect_uri: str
    response_mode: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    prompt: str | None
    login_hint: str | None
    client_info: bool
    max_age: int | None = None  # seconds since the user last entered a code (OIDC Core §3.1.2.1)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> AuthorizeRequest:
        return cls(**json.loads(data))


def _single(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise SignInRedirectError(
            "invalid_request", f"The parameter '{name}' is included more than once."
        )
    value = values[0]
    if len(value) > MAX_PARAM or any(ord(c) < 32 for c in value):
        raise SignInRedirectError("invalid_request", f"The parameter '{name}' is not valid.")
    return value


def check_client(params: Mapping[str, list[str]], app: App | None, tenant_id: str) -> str:
    """Stage one: the app and the redirect URI. Returns the redirect URI to answer at."""
    try:
        client_id = _single(params, "client_id")
        redirect_uri = _single(params, "redirect_uri")
    except SignInRedirectError as exc:
        raise SignInPageError(exc.description) from None
    if not client_id:
        raise SignInPageError("The request has no client_id: the app must say who it is.")
    if app is None or app.tenant_id != tenant_id:
        raise SignInPageError(f"Application '{client_id}' was not found in this organization.")
    if not app.enabled:
        raise SignInPageError("This application is disabled.")
    if not redirect_uri:
        raise SignInPageError("The request has no redirect_uri.")
    if not any(redirect_uri_matches(r, redirect_uri) for r in app.redirect_uris):
        raise SignInPageError(
            "The redirect URI in the request does not match the redirect URIs registered for"
            " this application."
        )
    return redirect_uri


def check_request(
    params: Mapping[str, list[str]], app: App, redirect_uri: str, tenant_id: str
) -> AuthorizeRequest:
    """Stage two: everything else; errors from here on are redirected to the app."""
    mode = _single(params, "response_mode") or "query"
    if mode not in RESPONSE_MODES:
        raise SignInRedirectError(
            "invalid_request", "response_mode must be query or form_post for the code flow."
        )
    response_type = _single(params, "response_type")
    if response_type != "code":
        raise SignInRedirectError(
            "unsupported_response_type", "Only response_type=code (the code flow) is supported."
        )
    scopes = (_single(params, "scope") or "").split()
    if not scopes:
        raise SignInRedirectError(
            "invalid_request", "The request must contain the parameter 'scope'."
        )
    if "openid" not in scopes:
        raise SignInRedirectError("invalid_scope", "Sign-in needs the 'openid' scope.")
    challenge = _single(params, "code_challenge")
    method = _single(params, "code_challenge_method")
    if challenge is not None:
        if method != "S256":
            # `plain` would expose the verifier; a missing method means plain (RFC 7636 §4.3).
            raise SignInRedirectError("invalid_request", "code_challenge_method must be S256.")
        if not _CHALLENGE.match(challenge):
            raise SignInRedirectError("invalid_request", "code_challenge is not a S256 challenge.")
    elif method is not None:
        raise SignInRedirectError(
            "invalid_request", "code_challenge_method without code_challenge."
        )
    elif app.public_client:
        raise SignInRedirectError(
            "invalid_request", "Public clients must use PKCE: send a S256 code_challenge."
        )
    prompt = _single(params, "prompt")
    if prompt not in (None, "login", "none", "select_account", "consent"):
        raise SignInRedirectError("invalid_request", f"prompt={prompt} is not supported.")
    nonce = _single(params, "nonce")
    if nonce is not None and len(nonce) > 512:
        raise SignInRedirectError("invalid_request", "The nonce is too long.")
    return AuthorizeRequest(
        tenant_id=tenant_id,
        client_id=app.id,
        redirect_uri=redirect_uri,
        response_mode=mode,
        scope=" ".join(dict.fromkeys(scopes)),
        state=_single(params, "state"),
        nonce=nonce,
        code_challenge=challenge,
        prompt=prompt,
        login_hint=_single(params, "login_hint"),
        max_age=_max_age(_single(params, "max_age")),
        client_info=_single(params, "client_info") == "1",
    )


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise SignInRedirectError("invalid_request", "max_age must be a number of seconds.")
    return int(value)


def may_sign_in(user: User | None) -> bool:
    """Members, and guests who accepted their invitation, while their account is enabled."""
    if user is None or not user.account_enabled:
        return False
    return user.user_type == MEMBER or (
        user.user_type == GUEST and user.external_user_state == ACCEPTED
    )


def must_redeem_first(user: User | None) -> bool:
    """A guest who has not accepted yet: a sign-in takes them through redemption first."""
    return (
        user is not None
        and user.account_enabled
        and user.user_type == GUEST
        and user.external_user_state == PENDING
    )


def is_disabled(user: User | None) -> bool:
    """A user whose account is disabled (accountEnabled false): Entra's AADSTS50057."""
    return user is not None and not user.account_enabled


DISABLED_MESSAGE = "AADSTS50057: The user account is disabled."


def pkce_matches(challenge: str, verifier: str) -> bool:
    if not _VERIFIER.match(verifier):
        return False
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return hmac.compare_digest(digest.decode(), challenge)


def token_hash(value: str) -> str:
    """Codes and refresh tokens are 256-bit random values: an unkeyed SHA-256 is enough."""
    return hashlib.sha256(value.encode()).hexdigest()


def pairwise_subject(key: bytes, *, tenant_id: str, app_id: str, user_id: str) -> str:
    """A stable `sub` per (user, app, tenant): two apps cannot correlate a user by it."""
    digest = hmac.new(key, f"pairwise:{tenant_id}:{app_id}:{user_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def client_info(user_id: str, tenant_id: str) -> str:
    """What MSAL reads to key its account cache: unpadded base64url of {"uid", "utid"}."""
    raw = json.dumps({"uid": user_id, "utid": tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def response_location(redirect_uri: str, values: Mapping[str, str | None]) -> str:
    """The redirect URI with the response appended to its query (RFC 6749 §4.1.2)."""
    query = urlencode({k: v for k, v in values.items() if v is not None})
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"


def split_scopes(scope: str) -> tuple[list[str], list[str]]:
    """(OpenID Connect scopes, resource scopes such as ``api://reports/read``)."""
    scopes = scope.split()
    return [s for s in scopes if s in OIDC_SCOPES], [s for s in scopes if s not in OIDC_SCOPES]


def resource_of(scope: str) -> tuple[str, str] | None:
    """``api://reports/read`` → (``api://reports``, ``read``)."""
    base, sep, name = scope.rpartition("/")
    if not sep or "://" not in base or not name:
        return None
    return base, name


def id_token_claims(
    *,
    issuer: str,
    app_id: str,
    user: User,
    subject: str,
    scopes: list[str],
    nonce: str | None,
    auth_time: int,
    sid: str,
    guest_idp: str,
    now: int,
    lifetime: int,
    uti: str,
    wids: list[str] | None = None,
) -> dict[str, Any]:
    """An Entra v2 ID token: `sub` pairwise, `oid` the same for every app; `wids` the
    directory role template ids of the member's console roles, as Entra sends them."""
    claims: dict[str, Any] = {
        "aud": app_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "ver": "2.0",
        "sub": subject,
        "tid": user.tenant_id,
        "oid": user.id,
        "auth_time": auth_time,
        "sid": sid,
        "uti": uti,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if "profile" in scopes:
        claims["name"] = user.display_name
        claims["preferred_username"] = (
            user.mail if user.user_type == GUEST else user.user_principal_name
        )
    if user.user_type == GUEST or "email" in scopes:
        claims["email"] = user.mail
    if user.user_type == GUEST:
        claims["idp"] = guest_idp
    if wids:
        claims["wids"] = wids
    return claims


def user_access_token_claims(
    *,
    issuer: str,
    audience: str,
    app: App,
    user: User,
    subject: str,
    scp: str,
    sid: str,
    now: int,
    lifetime: int,
    uti: str,
) -> dict[str, Any]:
    """An Entra v2 delegated access token: the user (`oid`) acting through the app (`azp`)."""
    return {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "ver": "2.0",
        "tid": user.tenant_id,
        "oid": user.id,
        "sub": subject,
        "azp": app.id,
        "azpacr": "0" if app.public_client else "1",
        "scp": scp,
        "name": user.display_name,
        "preferred_username": user.mail if user.user_type == GUEST else user.user_principal_name,
        "sid": sid,
        "uti": uti,
    }
