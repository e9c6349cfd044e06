"""Recipes for tests/e2e/test_openapi.py: each documented answer of the invitation policy's
routes (/api/policies/invitations and both authorizationPolicy paths).

The changes they make leave every invite of the other recipes allowed: a block list of a
domain no recipe invites, and `allowInvitesFrom: everyone`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from guestgate.domain.apps import WRITE_POLICY
from tests.e2e.server import Caller, Server

INVITATIONS = "/api/policies/invitations"
AUTHORIZATION = ("/api/policies/authorizationPolicy", "/v1.0/policies/authorizationPolicy")
Recipe = Callable[[], httpx.Response]


def definition(blocked: list[str]) -> dict[str, list[str]]:
    lists = {"BlockedDomains": blocked}
    policy = {"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": lists}}
    return {"definition": [json.dumps(policy)]}


def policy_recipes(
    server: Server, tenant: str, reader: Caller, anonymous: Callable[..., httpx.Response]
) -> dict[tuple[str, str, int], Recipe]:
    """`reader` holds neither Policy.Read.All nor Policy.ReadWrite.Authorization."""
    admin = Caller.new_app(server, tenant, WRITE_POLICY)
    big = {
        "content": b"{" + b" " * 70_000 + b"}",
        "headers": {"content-type": "application/json"},
    }
    text = {"content": b"hello", "headers": {"content-type": "text/plain"}}

    def call(who: Caller, method: str, path: str, **kwargs: Any) -> Recipe:
        return lambda: who.request(method, path, **kwargs)

    def patch_recipes(path: str, good: Any, wrong: Any) -> dict[tuple[str, str, int], Recipe]:
        return {
            (path, "patch", 400): call(admin, "PATCH", path, json=wrong),
            (path, "patch", 401): lambda: anonymous("PATCH", path, json=good),
            (path, "patch", 403): call(reader, "PATCH", path, json=good),
            (path, "patch", 413): call(admin, "PATCH", path, **big),
            (path, "patch", 415): call(admin, "PATCH", path, **text),
        }

    def get_recipes(path: str) -> dict[tuple[str, str, int], Recipe]:
        return {
            (path, "get", 200): call(admin, "GET", path),
            (path, "get", 401): lambda: anonymous("GET", path),
            (path, "get", 403): call(reader, "GET", path),
        }

    blocked = definition(["blocked-by-the-probe.example"])
    recipes = {
        **get_recipes(INVITATIONS),
        **patch_recipes(INVITATIONS, blocked, definition(["nodot"])),
        (INVITATIONS, "patch", 200): call(admin, "PATCH", INVITATIONS, json=blocked),
    }
    everyone = {"allowInvitesFrom": "everyone"}
    for path in AUTHORIZATION:
        recipes |= get_recipes(path)
        recipes |= patch_recipes(path, everyone, {"allowInvitesFrom": "anyone"})
        recipes[path, "patch", 204] = call(admin, "PATCH", path, json=everyone)
    return recipes
