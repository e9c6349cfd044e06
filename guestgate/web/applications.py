"""App registrations through Graph's `/v1.0/applications` (local mode), as Graph answers them.

An app holding Application.ReadWrite.All registers, changes and deletes the tenant's apps and
their secrets. It cannot grant application permissions (`requiredResourceAccess`): those stay
with the operator's CLI, so no app can mint one with more rights than it has.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request
from msgspec import UNSET, UnsetType

from guestgate.domain.apps import READWRITE_APPS, App, ClientSecret, scope_id
from guestgate.domain.paging import decode_cursor, encode_cursor
from guestgate.domain.tenants import is_guid
from guestgate.domain.timestamps import graph_time
from guestgate.errors import ValidationError
from guestgate.services import app_registrations as registrations
from guestgate.services.app_registrations import Changes, Registration
from guestgate.web.auth import caller_of, runtime_of
from guestgate.web.body import convert, parse_json
from guestgate.web.graph import GRAPH_ROUTE, _query_options
from guestgate.web.routes import delete, get, patch, post

BODY_BYTES = 128 * 1024  # 64 redirect URIs of 1,024 characters and some more
SMALL_BODY = 4 * 1024
PERMISSION = {"permission": READWRITE_APPS}
NOT_HERE = {
    "requiredResourceAccess": "Application permissions are granted by the operator with"
    " `guestgate app create --permission`, not through this API: an app cannot grant"
    " permissions.",
    "appRoles": "guestgate apps define no app roles.",
    "passwordCredentials": "Add a secret with POST /v1.0/applications/{id}/addPassword.",
    "keyCredentials": "guestgate apps authenticate with client secrets, not certificates.",
}


class RedirectUris(msgspec.Struct, forbid_unknown_fields=True):
    redirectUris: list[str] | UnsetType = UNSET


class PermissionScope(msgspec.Struct, forbid_unknown_fields=True):
    """A delegated scope the app's API exposes; only `value` is kept (the id is derived)."""

    value: str
    id: str | None = None
    isEnabled: bool = True  # a disabled scope is removed
    type: str | None = None
    adminConsentDisplayName: str | None = None
    adminConsentDescription: str | None = None
    userConsentDisplayName: str | None = None
    userConsentDescription: str | None = None


class ApiApplication(msgspec.Struct, forbid_unknown_fields=True):
    oauth2PermissionScopes: list[PermissionScope] | UnsetType = UNSET


class ApplicationBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST and PATCH /v1.0/applications: the properties of Graph's application guestgate keeps."""

    displayName: str | UnsetType = UNSET
    web: RedirectUris | UnsetType = UNSET
    publicClient: RedirectUris | UnsetType = UNSET
    isFallbackPublicClient: bool | UnsetType = UNSET
    identifierUris: list[str] | UnsetType = UNSET
    api: ApiApplication | UnsetType = UNSET
    # Apps sign in users of their own tenant only.
    signInAudience: Literal["AzureADMyOrg"] | UnsetType = UNSET


class PasswordCredential(msgspec.Struct, forbid_unknown_fields=True):
    displayName: str | None = None
    endDateTime: str | None = None


class AddPasswordBody(msgspec.Struct, forbid_unknown_fields=True):
    passwordCredential: PasswordCredential | None = None


class RemovePasswordBody(msgspec.Struct, forbid_unknown_fields=True):
    keyId: str


REQUEST_BODIES: dict[tuple[str, str], type] = {
    ("/v1.0/applications", "post"): ApplicationBody,
    ("/v1.0/applications/{application_id}", "patch"): ApplicationBody,
    ("/v1.0/applications/{application_id}/addPassword", "post"): AddPasswordBody,
    ("/v1.0/applications/{application_id}/removePassword", "post"): RemovePasswordBody,
}


def _without_annotations(value: Any) -> Any:
    """The body without OData annotations (`@odata.type`…), which the Graph SDKs send."""
    if isinstance(value, dict):
        return {k: _without_annotations(v) for k, v in value.items() if not k.startswith("@")}
    if isinstance(value, list):
        return [_without_annotations(v) for v in value]
    return value


async def _body(request: Request[Any, Any, Any], into: type[Any]) -> Any:
    raw = parse_json(await request.body(), request.headers.get("content-type"), dict[str, Any])
    parsed: dict[str, Any] = _without_annotations(raw)
    for name, why in NOT_HERE.items():
        if name in parsed and parsed[name] not in (None, []):
            raise ValidationError(f"{name} is not supported here. {why}", code="Request_BadRequest")
        parsed.pop(name, None)
    return convert(parsed, into)


def _uris(part: RedirectUris | UnsetType) -> list[str] | None:
    if isinstance(part, UnsetType) or isinstance(part.redirectUris, UnsetType):
        return None
    return part.redirectUris


def _changes(body: ApplicationBody) -> Changes:
    scopes = None
    if not isinstance(body.api, UnsetType) and not isinstance(
        body.api.oauth2PermissionScopes, UnsetType
    ):
        scopes = [s.value for s in body.api.oauth2PermissionScopes if s.isEnabled]
    fallback = body.isFallbackPublicClient
    return Changes(
        name=None if isinstance(body.displayName, UnsetType) else body.displayName,
        web_redirect_uris=_uris(body.web),
        public_redirect_uris=_uris(body.publicClient),
        fallback_public=None if isinstance(fallback, UnsetType) else fallback,
        app_id_uris=None if isinstance(body.identifierUris, UnsetType) else body.identifierUris,
        api_scopes=scopes,
    )


def password_json(secret: ClientSecret) -> dict[str, Any]:
    return {
        "customKeyIdentifier": None,
        "displayName": secret.display_name,
        "endDateTime": graph_time(secret.expires_at),
        "hint": secret.hint,
        "keyId": secret.id,
        "secretText": None,
        "startDateTime": graph_time(secret.created_at),
    }


def application_json(found: Registration) -> dict[str, Any]:
    app: App = found.app
    uris = list(app.redirect_uris)
    return {
        "id": app.object_id,
        "appId": app.id,
        "displayName": app.name,
        "createdDateTime": graph_time(app.created_at),
        "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": app.public_client,
        "identifierUris": [] if app.app_id_uri is None else [app.app_id_uri],
        "web": {"redirectUris": [] if app.public_client else uris},
        "publicClient": {"redirectUris": uris if app.public_client else []},
        "api": {
            "oauth2PermissionScopes": [
                {
                    "id": scope_id(app.object_id, name),
                    "value": name,
                    "isEnabled": True,
                    "type": "User",
                    "adminConsentDisplayName": None,
                    "adminConsentDescription": None,
                    "userConsentDisplayName": None,
                    "userConsentDescription": None,
                }
                for name in app.api_scopes
            ]
        },
        "passwordCredentials": [password_json(s) for s in found.secrets],
    }


def _entity(request: Request[Any, Any, Any], found: Registration) -> dict[str, Any]:
    base = runtime_of(request).settings.http.public_url
    return {"@odata.context": f"{base}/v1.0/$metadata#applications/$entity"} | application_json(
        found
    )


def _id(value: str) -> str:
    if not is_guid(value):
        raise registrations.not_found(value)
    return value.lower()


@post(
    "/v1.0/applications",
    opt=PERMISSION,
    status_code=201,
    request_max_body_size=BODY_BYTES,
    **GRAPH_ROUTE,
)
async def create_application(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Register an app: redirect URIs, client type, application ID URI and scopes."""
    runtime = runtime_of(request)
    body: ApplicationBody = await _body(request, ApplicationBody)
    found = await registrations.register(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        changes=_changes(body),
        actor=caller_of(request).app_id,
        now=runtime.now(),
    )
    return _entity(request, found)


@get("/v1.0/applications", opt=PERMISSION, **GRAPH_ROUTE)
async def list_applications(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The tenant's apps, oldest first, $top at a time (default 100) with @odata.nextLink."""
    runtime = runtime_of(request)
    tenant_id = caller_of(request).tenant_id
    options = _query_options(request)
    for name in options:
        if name not in ("$top", "$skiptoken"):
            raise ValidationError(
                f"Query option '{name}' is not supported on applications.",
                code="Request_UnsupportedQuery",
            )
    text = options.get("$top", "100")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 999:
        raise ValidationError("$top must be a number from 1 to 999.", code="Request_BadRequest")
    top = int(text)
    scope = f"applications|{tenant_id}"
    after = None
    if "$skiptoken" in options:
        after = decode_cursor(runtime.cursor_key, scope, options["$skiptoken"])
    found = await registrations.list_page(
        runtime.uow(write=False), tenant_id=tenant_id, after=after, limit=top + 1
    )
    base = runtime.settings.http.public_url
    answer: dict[str, Any] = {
        "@odata.context": f"{base}/v1.0/$metadata#applications",
        "value": [application_json(r) for r in found[:top]],
    }
    if len(found) > top:
        last = found[top - 1].app
        cursor = encode_cursor(runtime.cursor_key, scope, (last.created_at, last.id))
        following = urlencode({"$top": str(top), "$skiptoken": cursor}, quote_via=quote)
        answer["@odata.nextLink"] = f"{base}/v1.0/applications?{following}"
    return answer


@get("/v1.0/applications/{application_id:str}", opt=PERMISSION, **GRAPH_ROUTE)
async def get_application(request: Request[Any, Any, Any], application_id: str) -> dict[str, Any]:
    """One app of the tenant, by its object id (`id`, not `appId`)."""
    runtime = runtime_of(request)
    found = await registrations.get(
        runtime.uow(write=False),
        tenant_id=caller_of(request).tenant_id,
        object_id=_id(application_id),
    )
    return _entity(request, found)


@patch(
    "/v1.0/applications/{application_id:str}",
    opt=PERMISSION,
    status_code=204,
    request_max_body_size=BODY_BYTES,
    **GRAPH_ROUTE,
)
async def update_application(request: Request[Any, Any, Any], application_id: str) -> None:
    """Replace the properties given: redirect URI lists, identifierUris, scopes, name."""
    runtime = runtime_of(request)
    body: ApplicationBody = await _body(request, ApplicationBody)
    await registrations.change(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        object_id=_id(application_id),
        changes=_changes(body),
        actor=caller_of(request).app_id,
        now=runtime.now(),
    )


@delete("/v1.0/applications/{application_id:str}", opt=PERMISSION, **GRAPH_ROUTE)
async def delete_application(request: Request[Any, Any, Any], application_id: str) -> None:
    """Delete an app; its secrets and tokens stop working. An app cannot delete itself."""
    runtime = runtime_of(request)
    app = await registrations.delete(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        object_id=_id(application_id),
        actor=caller_of(request).app_id,
        now=runtime.now(),
    )
    runtime.verifier.forget_app(app.id)


@post(
    "/v1.0/applications/{application_id:str}/addPassword",
    opt=PERMISSION,
    status_code=200,
    request_max_body_size=SMALL_BODY,
    **GRAPH_ROUTE,
)
async def add_password(request: Request[Any, Any, Any], application_id: str) -> dict[str, Any]:
    """Add a client secret; `secretText` is in this answer only (at most two years)."""
    runtime = runtime_of(request)
    body: AddPasswordBody = await _body(request, AddPasswordBody)
    given = body.passwordCredential or PasswordCredential()
    made = await registrations.add_password(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        object_id=_id(application_id),
        display_name=given.displayName,
        end=given.endDateTime,
        actor=caller_of(request).app_id,
        hash_key=runtime.hash_key,
        now=runtime.now(),
    )
    base = runtime.settings.http.public_url
    return {
        "@odata.context": f"{base}/v1.0/$metadata#microsoft.graph.passwordCredential",
        **password_json(made.secret),
        "secretText": made.value,
    }


@post(
    "/v1.0/applications/{application_id:str}/removePassword",
    opt=PERMISSION,
    status_code=204,
    request_max_body_size=SMALL_BODY,
    **GRAPH_ROUTE,
)
async def remove_password(request: Request[Any, Any, Any], application_id: str) -> None:
    """Delete a client secret by its keyId; no token is issued with it afterwards."""
    runtime = runtime_of(request)
    body: RemovePasswordBody = await _body(request, RemovePasswordBody)
    await registrations.remove_password(
        runtime.uow(),
        tenant_id=caller_of(request).tenant_id,
        object_id=_id(application_id),
        key_id=body.keyId,
        actor=caller_of(request).app_id,
        now=runtime.now(),
    )


ROUTES = [
    create_application,
    list_applications,
    get_application,
    update_application,
    delete_application,
    add_password,
    remove_password,
]
