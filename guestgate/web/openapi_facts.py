"""What /openapi.json says that Litestar cannot derive from the routes.

`ROUTE_ERRORS` lists, per operation, the error answers it really gives, each with the body
the service sends (tests/e2e/test_openapi.py provokes every one of them on a running server
and compares the code). `ODATA` lists the query options the Graph-compatible routes read from
the raw query string.
"""

from __future__ import annotations

from typing import Any

from guestgate.domain.apps import (
    INVITE,
    READ_POLICY,
    READ_USERS,
    READWRITE_APPS,
    READWRITE_USERS,
    WRITE_POLICY,
)

Answer = tuple[str, dict[str, Any]]  # (description, example body)

REQUEST_ID = "c3a1e5b2-7d4f-4e0a-9b6c-2f8d1e0a7b93"
EXAMPLE_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def api_error(code: str, message: str) -> dict[str, Any]:
    """An API error body as web/errors.py writes it."""
    return {
        "message": message,
        "error": {
            "code": code,
            "message": message,
            "innerError": {"request-id": REQUEST_ID, "date": "2026-12-01T09:30:00"},
        },
    }


def oauth_error(error: str, aadsts: int, text: str) -> dict[str, Any]:
    """A token-endpoint error body as Entra (and web/errors.py) writes it."""
    stamp = "2026-12-01 09:30:00Z"
    return {
        "error": error,
        "error_description": f"AADSTS{aadsts}: {text} Trace ID: {REQUEST_ID} Correlation ID:"
        f" {REQUEST_ID} Timestamp: {stamp}",
        "error_codes": [aadsts],
        "timestamp": stamp,
        "trace_id": REQUEST_ID,
        "correlation_id": REQUEST_ID,
    }


def gated(permission: str) -> Answer:
    """403 of a route that makes an invitation: the permission, or the tenant's policy."""
    description, example = denied(permission)
    return (
        f"{description}, or the tenant's invitation policy refuses the guest's domain"
        " (DomainNotAllowed) or the person in requestedBy (InviterNotAllowed); nothing is"
        " stored or sent",
        example,
    )


def denied(permission: str) -> Answer:
    return (
        f"The app lacks the permission {permission}",
        api_error(
            "Authorization_RequestDenied",
            f"Insufficient privileges to complete the operation: the app needs {permission}.",
        ),
    )


NO_TOKEN: Answer = (
    "Missing, invalid or expired token",
    api_error(
        "InvalidAuthenticationToken", "Access token is empty: send Authorization: Bearer <token>."
    ),
)
TOO_LARGE: Answer = (
    "The body is larger than the route accepts",
    api_error("RequestTooLarge", "The request body is larger than this endpoint accepts."),
)
NOT_JSON: Answer = (
    "The body is not sent as application/json",
    api_error("UnsupportedMediaType", "Send the body as application/json."),
)
UNKNOWN_QUERY: Answer = (
    "A query parameter the route does not take",
    api_error("UnknownQueryParameter", "Unknown query parameter 'state'."),
)
NO_INVITATION: Answer = (
    "No invitation of the caller's tenant has this id",
    api_error("InvitationNotFound", f"There is no invitation {EXAMPLE_ID}."),
)
NO_USER: Answer = (
    "No user of the caller's tenant has this id or userPrincipalName",
    api_error(
        "Request_ResourceNotFound",
        "Resource 'adele@contoso.example' does not exist or one of its queried"
        " reference-property objects are not present.",
    ),
)
NO_TENANT: Answer = (
    "No tenant has this id or domain",
    oauth_error(
        "invalid_request", 90002, "Tenant not found. Check the tenant id or domain in the URL."
    ),
)


def not_pending(action: str, status: str) -> Answer:
    return (
        "The invitation is no longer pending",
        api_error(
            "InvitationNotPending",
            f"Only pending invitations can be {action}; this one is {status}.",
        ),
    )


def bad(code: str, message: str) -> Answer:
    return ("Bad data: the error code names the rule", api_error(code, message))


NO_APP: Answer = (
    "No app of the caller's tenant has this object id",
    api_error(
        "Request_ResourceNotFound",
        f"Resource '{EXAMPLE_ID}' does not exist or one of its queried reference-property"
        " objects are not present.",
    ),
)
_APP = "/v1.0/applications/{application_id}"
# The applications API's answers besides 401 and 403 (Application.ReadWrite.All).
_APPS: dict[tuple[str, str], dict[int, Answer]] = {
    ("/v1.0/applications", "post"): {
        400: bad(
            "InvalidRedirectUri",
            "'http://app.example/cb': redirect URIs use https (http only for localhost,"
            " 127.0.0.1 or [::1])",
        ),
        413: TOO_LARGE,
        415: NOT_JSON,
    },
    ("/v1.0/applications", "get"): {
        400: bad("Request_BadRequest", "$top must be a number from 1 to 999."),
    },
    (_APP, "get"): {404: NO_APP},
    (_APP, "patch"): {
        400: bad("InvalidAppIdUri", "identifierUris takes at most one URI."),
        404: NO_APP,
        413: TOO_LARGE,
        415: NOT_JSON,
    },
    (_APP, "delete"): {
        400: bad("CannotDeleteSelf", "An app cannot delete its own registration."),
        404: NO_APP,
    },
    (f"{_APP}/addPassword", "post"): {
        400: bad("InvalidLifetime", "endDateTime must be in the future and at most two years away"),
        404: NO_APP,
        413: TOO_LARGE,
        415: NOT_JSON,
    },
    (f"{_APP}/removePassword", "post"): {
        400: bad(
            "InvalidRequestBody",
            "The request body is invalid: Object missing required field `keyId`.",
        ),
        404: NO_APP,
        413: TOO_LARGE,
        415: NOT_JSON,
    },
}
# The invitation policy's answers (web/policies.py); each route answers 401 as well.
_BAD_POLICY = bad(
    "InvalidInvitationPolicy",
    "definition[0].B2BManagementPolicy.InvitationsAllowedAndBlockedDomainsPolicy"
    ".BlockedDomains[0]: 'nodot' is not a domain name (such as contoso.com or *.contoso.com"
    " for its subdomains).",
)
_BAD_INVITERS = bad(
    "InvalidInvitationPolicy",
    "allowInvitesFrom must be one of none, adminsAndGuestInviters,"
    " adminsGuestInvitersAndAllMembers, everyone; got 'anyone'.",
)
_POLICY_GET = {403: denied(READ_POLICY)}
_POLICY_PATCH = {403: denied(WRITE_POLICY), 413: TOO_LARGE, 415: NOT_JSON}
_AUTHORIZATION = ("/api/policies/authorizationPolicy", "/v1.0/policies/authorizationPolicy")
_POLICIES: dict[tuple[str, str], dict[int, Answer]] = {
    ("/api/policies/invitations", "get"): _POLICY_GET,
    ("/api/policies/invitations", "patch"): {400: _BAD_POLICY, **_POLICY_PATCH},
    **{(path, "get"): _POLICY_GET for path in _AUTHORIZATION},
    **{(path, "patch"): {400: _BAD_INVITERS, **_POLICY_PATCH} for path in _AUTHORIZATION},
}
ROUTE_ERRORS: dict[tuple[str, str], dict[int, Answer]] = {
    # Served only when GUESTGATE_METRICS_TOKEN is set (then it is in this document).
    ("/metrics", "get"): {
        401: (
            "Missing or wrong metrics token",
            api_error("InvalidAuthenticationToken", "The metrics token is not the one configured."),
        )
    },
    ("/readyz", "get"): {
        503: (
            "The database does not answer (Retry-After: 5)",
            {"status": "unavailable", "reason": "database unreachable"},
        )
    },
    ("/{tenant}/v2.0/.well-known/openid-configuration", "get"): {400: NO_TENANT},
    ("/{tenant}/discovery/v2.0/keys", "get"): {400: NO_TENANT},
    ("/{tenant}/oauth2/v2.0/token", "post"): {
        400: (
            "A malformed or unsupported token request",
            oauth_error(
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type 'password'.",
            ),
        ),
        401: (
            "Unknown client, or wrong or expired secret",
            oauth_error(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is"
                " the client secret value, not the client secret ID.",
            ),
        ),
        429: (
            "Too many failed client authentications (Retry-After says when to try again)",
            oauth_error(
                "temporarily_unavailable",
                90055,
                "Too many failed client authentications from this address; try again later.",
            ),
        ),
    },
    ("/api/InviteGuest", "post"): {
        400: bad(
            "InvalidEmailAddress",
            "invitedUserEmailAddress is not a valid email address: An email address must have"
            " an @-sign.",
        ),
        401: NO_TOKEN,
        403: gated(INVITE),
        413: TOO_LARGE,
        415: NOT_JSON,
    },
    ("/api/InviteGuests", "post"): {
        400: bad("InvalidBulkSize", "invitations takes 1 to 500 entries."),
        401: NO_TOKEN,
        403: denied(INVITE),
        413: TOO_LARGE,
        415: NOT_JSON,
    },
    ("/api/invitations", "get"): {400: UNKNOWN_QUERY, 401: NO_TOKEN, 403: denied(READ_USERS)},
    ("/api/invitations/{invitation_id}", "get"): {
        400: UNKNOWN_QUERY,
        401: NO_TOKEN,
        403: denied(READ_USERS),
        404: NO_INVITATION,
    },
    ("/api/invitations/{invitation_id}/resend", "post"): {
        400: UNKNOWN_QUERY,
        401: NO_TOKEN,
        403: denied(INVITE),
        404: NO_INVITATION,
        409: not_pending("resent", "Revoked"),
        413: TOO_LARGE,
    },
    ("/api/invitations/{invitation_id}/revoke", "post"): {
        400: UNKNOWN_QUERY,
        401: NO_TOKEN,
        403: denied(INVITE),
        404: NO_INVITATION,
        409: not_pending("revoked", "Completed"),
        413: TOO_LARGE,
    },
    ("/v1.0/users", "get"): {
        400: bad("Request_UnsupportedQuery", "Unsupported property 'manager' in the filter."),
        401: NO_TOKEN,
        403: denied(READ_USERS),
    },
    ("/v1.0/users/$count", "get"): {
        400: bad(
            "Request_UnsupportedQuery", "$count requires the header 'ConsistencyLevel: eventual'."
        ),
        401: NO_TOKEN,
        403: denied(READ_USERS),
    },
    ("/v1.0/users/{user_ref}", "get"): {
        400: bad(
            "Request_BadRequest",
            "Could not find a property named 'manager' on type 'microsoft.graph.user'.",
        ),
        401: NO_TOKEN,
        403: denied(READ_USERS),
        404: NO_USER,
    },
    ("/v1.0/users/{user_ref}", "delete"): {
        401: NO_TOKEN,
        403: denied(READWRITE_USERS),
        404: NO_USER,
    },
    ("/v1.0/invitations", "post"): {
        400: bad("InvalidRedirectUrl", "inviteRedirectUrl is required."),
        401: NO_TOKEN,
        403: gated(INVITE),
        413: TOO_LARGE,
        415: NOT_JSON,
    },
    ("/v1.0/organization", "get"): {401: NO_TOKEN},
    **{key: {401: NO_TOKEN, 403: denied(READWRITE_APPS), **more} for key, more in _APPS.items()},
    **{key: {401: NO_TOKEN, **more} for key, more in _POLICIES.items()},
}


def _query(name: str, description: str, schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        "example": example,
    }


_STRING = {"type": "string"}
FILTER = _query(
    "$filter",
    "OData filter on userType, externalUserState, creationType, mail, displayName,"
    " userPrincipalName and createdDateTime: eq, ne (gt, ge, lt, le on createdDateTime),"
    " startswith, in, and, or, not.",
    _STRING,
    "userType eq 'Guest' and externalUserState eq 'PendingAcceptance'",
)
SEARCH = _query(
    "$search",
    'Search one property: "displayName:…" or "mail:…" (needs ConsistencyLevel: eventual).',
    _STRING,
    '"displayName:ada"',
)
SELECT = _query("$select", "Properties to return, comma-separated.", _STRING, "id,mail,userType")
CONSISTENCY = {
    "name": "ConsistencyLevel",
    "in": "header",
    "required": False,
    "description": "`eventual` for $count and $search (other values are ignored, as by Graph).",
    "schema": {"type": "string"},
    "example": "eventual",
}
ODATA: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("/v1.0/users", "get"): [
        FILTER,
        SELECT,
        _query("$top", "Page size.", {"type": "integer", "minimum": 1, "maximum": 999}, 100),
        _query(
            "$count",
            "Also answer @odata.count (needs ConsistencyLevel: eventual).",
            {"type": "boolean"},
            True,
        ),
        SEARCH,
        _query(
            "$orderby",
            "displayName or createdDateTime, optionally followed by asc or desc.",
            _STRING,
            "displayName",
        ),
        _query(
            "$skiptoken",
            "The next page, as given in @odata.nextLink.",
            _STRING,
            "eyJ2IjoxfQ",
        ),
        CONSISTENCY,
    ],
    ("/v1.0/users/$count", "get"): [FILTER, SEARCH, {**CONSISTENCY, "required": True}],
    ("/v1.0/users/{user_ref}", "get"): [SELECT],
}
