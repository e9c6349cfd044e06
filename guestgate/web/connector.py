"""A Power Automate / Logic Apps custom connector made from the OpenAPI document.

Power Platform custom connectors take OpenAPI 2.0 (`apiDefinition.swagger.json`) and a
properties file (`apiProperties.json`). `power_automate` converts the GT365 operations of
/openapi.json (OpenAPI 3.1) into that: 3.1's `anyOf [X, null]` becomes X with
`x-nullable`, references move to `definitions`, every parameter and property gets an
`x-ms-summary` label, and the security definition is OAuth 2.0 client credentials against
the tenant's token endpoint. scripts/power_automate_connector.py writes the two files.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

SCOPE = "https://graph.microsoft.com/.default"
SECURITY = "oauth2_client_credentials"
# The connector's actions: (path, method) → (operationId, summary). Only the GT365 API.
ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("/api/InviteGuest", "post"): ("InviteGuest", "Invite a guest"),
    ("/api/InviteGuests", "post"): ("InviteGuests", "Invite up to 500 guests"),
    ("/api/invitations", "get"): ("ListInvitations", "List invitations"),
    ("/api/invitations/{invitation_id}", "get"): ("GetInvitation", "Get an invitation"),
    ("/api/invitations/{invitation_id}/resend", "post"): (
        "ResendInvitation",
        "Resend an invitation",
    ),
    ("/api/invitations/{invitation_id}/revoke", "post"): (
        "RevokeInvitation",
        "Revoke an invitation",
    ),
}
# Keywords OpenAPI 2.0's schema object has; the rest of 3.1's JSON Schema is dropped.
SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "default",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
        "enum",
        "items",
        "properties",
        "additionalProperties",
        "allOf",
        "example",
        "readOnly",
    }
)


def label(name: str) -> str:
    """`invitedUserEmailAddress` → `Invited user email address`, for x-ms-summary."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.replace("_", " ")).split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:]


def _schema(value: Any, name: str | None = None) -> Any:
    """One 3.1 schema as a 2.0 schema object."""
    if not isinstance(value, dict):
        return value
    if "$ref" in value:
        return {"$ref": value["$ref"].replace("#/components/schemas/", "#/definitions/")}
    for union in ("anyOf", "oneOf"):
        if union in value:
            options = [o for o in value[union] if o.get("type") != "null"]
            inner = _schema(options[0], name) if len(options) == 1 else {"type": "object"}
            if "$ref" in inner:  # 2.0 allows nothing beside a $ref
                return inner
            extra = {k: v for k, v in value.items() if k != union}
            return {**inner, **_schema(extra, name), "x-nullable": True}
    out: dict[str, Any] = {}
    kind = value.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        out["type"] = kinds[0] if len(kinds) == 1 else "string"
        if "null" in kind:
            out["x-nullable"] = True
    for key, item in value.items():
        if key == "type" and isinstance(item, list):
            continue
        if key == "const":
            out["enum"] = [item]
        elif key == "examples" and isinstance(item, list) and item:
            out["example"] = item[0]
        elif key == "properties":
            out[key] = {k: _labelled(_schema(v, k), k) for k, v in item.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _schema(item) if isinstance(item, dict) else item
        elif key == "allOf":
            out[key] = [_schema(v) for v in item]
        elif (key == "required" and not item) or (key == "default" and item is None):
            continue  # 2.0 wants a non-empty list or none, and has no null
        elif key in SCHEMA_KEYS:
            out[key] = item
    if out.get("additionalProperties") == {}:
        out["additionalProperties"] = True
    return out


def _refs(value: Any) -> set[str]:
    """The definitions a converted part refers to."""
    if isinstance(value, dict):
        found = {value["$ref"].rsplit("/", 1)[1]} if "$ref" in value else set()
        return found.union(*(_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value))
    return set()


def _labelled(schema: dict[str, Any], name: str) -> dict[str, Any]:
    if "$ref" in schema:
        return schema
    return {"x-ms-summary": label(name), **schema}


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    schema = _schema(parameter.get("schema", {"type": "string"}))
    converted = {
        "name": parameter["name"],
        "in": parameter["in"],
        "required": bool(parameter.get("required", parameter["in"] == "path")),
        "x-ms-summary": label(parameter["name"]),
        **{k: v for k, v in schema.items() if k not in ("x-nullable", "example")},
    }
    if "type" not in converted:
        converted["type"] = "string"
    if parameter.get("description"):
        converted["description"] = parameter["description"]
    return converted


def _operation(operation: dict[str, Any], operation_id: str, summary: str) -> dict[str, Any]:
    parameters = [_parameter(p) for p in operation.get("parameters", [])]
    body = operation.get("requestBody")
    consumes: list[str] = []
    if body is not None and body.get("required"):
        media = body["content"]["application/json"]
        parameters.append(
            {
                "name": "body",
                "in": "body",
                "required": True,
                "x-ms-summary": "Body",
                "schema": _schema(media["schema"]),
            }
        )
        consumes = ["application/json"]
    responses: dict[str, Any] = {}
    for code, answer in operation.get("responses", {}).items():
        converted: dict[str, Any] = {"description": answer.get("description", code)}
        media = answer.get("content", {}).get("application/json")
        if media is not None and "schema" in media:
            converted["schema"] = _schema(media["schema"])
            if "example" in media:
                converted["examples"] = {"application/json": media["example"]}
        responses[code] = converted
    out: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": operation.get("description") or operation.get("summary") or summary,
        "parameters": parameters,
        "responses": responses,
        "x-ms-visibility": "important",
    }
    if consumes:
        out["consumes"] = consumes
    return out


def power_automate(
    document: dict[str, Any], *, public_url: str, tenant: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(apiDefinition.swagger.json, apiProperties.json) for the guestgate at `public_url`,
    with tokens from `tenant` (its id or domain)."""
    parts = urlsplit(public_url.rstrip("/"))
    token_url = f"{public_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), (operation_id, summary) in ACTIONS.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            paths.setdefault(path, {})[method] = _operation(operation, operation_id, summary)
    schemas = document.get("components", {}).get("schemas", {})
    definitions: dict[str, Any] = {}
    wanted = _refs(paths)
    while wanted:
        name = wanted.pop()
        if name not in definitions and name in schemas:
            definitions[name] = _schema(schemas[name])
            wanted |= _refs(definitions[name]) - set(definitions)
    definitions = dict(sorted(definitions.items()))
    info = document.get("info", {})
    definition = {
        "swagger": "2.0",
        "info": {
            "title": info.get("title", "guestgate"),
            "description": "Invite guests, and list, resend and revoke invitations, through"
            " guestgate's GT365 API.",
            "version": info.get("version", "1.0"),
        },
        "host": parts.netloc,
        "basePath": parts.path or "/",
        "schemes": [parts.scheme],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {
            SECURITY: {
                "type": "oauth2",
                "flow": "application",
                "tokenUrl": token_url,
                "scopes": {SCOPE: "The app's permissions (User.Invite.All, User.Read.All)"},
            }
        },
        "security": [{SECURITY: [SCOPE]}],
        "tags": [],
    }
    properties = {
        "properties": {
            "connectionParameters": {
                "token": {
                    "type": "oauthSetting",
                    "oAuthSettings": {
                        "identityProvider": "oauth2generic",
                        "clientId": "",
                        "scopes": [SCOPE],
                        "redirectMode": "GlobalPerConnector",
                        "redirectUrl": "https://global.consent.azure-apim.net/redirect",
                        "properties": {"IsFirstParty": "False"},
                        "customParameters": {
                            "tokenUrlTemplate": {"value": token_url},
                            "authorizationUrlTemplate": {"value": token_url},
                            "refreshUrlTemplate": {"value": token_url},
                            "grantType": {"value": "client_credentials"},
                        },
                    },
                }
            },
            "iconBrandColor": "#0f6cbd",
            "capabilities": [],
            "publisher": "guestgate",
            "stackOwner": "guestgate",
        }
    }
    return definition, properties
