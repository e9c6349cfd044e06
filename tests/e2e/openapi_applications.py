"""Recipes for tests/e2e/test_openapi.py: each documented answer of /v1.0/applications."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.e2e.server import Caller, Server

APPS = "/v1.0/applications"
APP = "/v1.0/applications/{application_id}"
Recipe = Callable[[], httpx.Response]


def application_recipes(
    server: Server, tenant: str, reader: Caller, anonymous: Callable[..., httpx.Response]
) -> dict[tuple[str, str, int], Recipe]:
    """`reader` lacks Application.ReadWrite.All; `anonymous` calls without a token."""
    made = server.create_app(tenant, "app admin", "Application.ReadWrite.All")
    admin = Caller(server, tenant, made["AppID"], made["AppSecret"])
    mine = next(
        a["id"]
        for a in admin.request("GET", f"{APPS}?$top=999").json()["value"]
        if a["appId"] == made["AppID"]
    )
    big = {
        "content": b"{" + b" " * 140_000 + b"}",
        "headers": {"content-type": "application/json"},
    }
    small_big = {
        "content": b"{" + b" " * 5_000 + b"}",
        "headers": {"content-type": "application/json"},
    }
    text = {"content": b"hello", "headers": {"content-type": "text/plain"}}

    def fresh() -> str:
        answer = admin.request("POST", APPS, json={"displayName": "probe"})
        return str(answer.json()["id"])

    def one(suffix: str = "") -> str:
        return f"{APPS}/{fresh()}{suffix}"

    def unknown(suffix: str = "") -> str:
        return f"{APPS}/{uuid.uuid4()}{suffix}"

    def removed() -> httpx.Response:
        path = one()
        key = admin.request("POST", f"{path}/addPassword", json={}).json()["keyId"]
        return admin.request("POST", f"{path}/removePassword", json={"keyId": key})

    def call(who: Caller, method: str, path: str, **kwargs: Any) -> Recipe:
        return lambda: who.request(method, path, **kwargs)

    recipes: dict[tuple[str, str, int], Recipe] = {
        (APPS, "post", 201): call(admin, "POST", APPS, json={"displayName": "probe"}),
        (APPS, "post", 400): call(
            admin,
            "POST",
            APPS,
            json={"displayName": "x", "web": {"redirectUris": ["http://app.example/cb"]}},
        ),
        (APPS, "post", 401): lambda: anonymous("POST", APPS, json={}),
        (APPS, "post", 403): call(reader, "POST", APPS, json={"displayName": "x"}),
        (APPS, "post", 413): call(admin, "POST", APPS, **big),
        (APPS, "post", 415): call(admin, "POST", APPS, **text),
        (APPS, "get", 200): call(admin, "GET", APPS),
        (APPS, "get", 400): call(admin, "GET", f"{APPS}?$top=0"),
        (APPS, "get", 401): lambda: anonymous("GET", APPS),
        (APPS, "get", 403): call(reader, "GET", APPS),
        (APP, "get", 200): lambda: admin.request("GET", one()),
        (APP, "get", 401): lambda: anonymous("GET", unknown()),
        (APP, "get", 403): lambda: reader.request("GET", one()),
        (APP, "get", 404): lambda: admin.request("GET", unknown()),
        (APP, "patch", 204): lambda: admin.request("PATCH", one(), json={"displayName": "y"}),
        (APP, "patch", 400): lambda: admin.request(
            "PATCH", one(), json={"identifierUris": ["api://p1", "api://p2"]}
        ),
        (APP, "patch", 401): lambda: anonymous("PATCH", unknown(), json={}),
        (APP, "patch", 403): lambda: reader.request("PATCH", one(), json={}),
        (APP, "patch", 404): lambda: admin.request("PATCH", unknown(), json={}),
        (APP, "patch", 413): lambda: admin.request("PATCH", one(), **big),
        (APP, "patch", 415): lambda: admin.request("PATCH", one(), **text),
        (APP, "delete", 204): lambda: admin.request("DELETE", one()),
        (APP, "delete", 400): call(admin, "DELETE", f"{APPS}/{mine}"),
        (APP, "delete", 401): lambda: anonymous("DELETE", unknown()),
        (APP, "delete", 403): lambda: reader.request("DELETE", one()),
        (APP, "delete", 404): lambda: admin.request("DELETE", unknown()),
    }

    def password_recipes(
        action: str, body: dict[str, Any], wrong: dict[str, Any]
    ) -> dict[tuple[str, str, int], Recipe]:
        path, suffix = f"{APP}/{action}", f"/{action}"
        return {
            (path, "post", 400): lambda: admin.request("POST", one(suffix), json=wrong),
            (path, "post", 401): lambda: anonymous("POST", unknown(suffix), json={}),
            (path, "post", 403): lambda: reader.request("POST", one(suffix), json=body),
            (path, "post", 404): lambda: admin.request("POST", unknown(suffix), json=body),
            (path, "post", 413): lambda: admin.request("POST", one(suffix), **small_big),
            (path, "post", 415): lambda: admin.request("POST", one(suffix), **text),
        }

    past = {"passwordCredential": {"endDateTime": "2020-01-01T00:00:00Z"}}
    recipes |= password_recipes("addPassword", {}, past)
    recipes |= password_recipes("removePassword", {"keyId": str(uuid.uuid4())}, {})
    recipes[f"{APP}/addPassword", "post", 200] = lambda: admin.request(
        "POST", one("/addPassword"), json={}
    )
    recipes[f"{APP}/removePassword", "post", 204] = removed
    return recipes
