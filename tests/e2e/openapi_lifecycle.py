"""Recipes for tests/e2e/test_openapi.py: each documented answer of the lifecycle policies (at
/api and /v1.0), the dry run of a draft, the attest action, and the Graph surface's
accountEnabled, sponsors and deleted items.

They work in a tenant of their own, so the policies they store and the guests they disable,
delete and restore touch nothing the other recipes use."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from guestgate.domain.apps import (
    INVITE,
    READ_LIFECYCLE,
    READ_USERS,
    READWRITE_USERS,
    WRITE_LIFECYCLE,
)
from guestgate.web.openapi_lifecycle import ATTEST, DRAFT, POLICIES, POLICY_EXAMPLE
from guestgate.web.openapi_users import DELETED, DELETED_ITEM, SPONSORS, USER
from tests.e2e.server import Caller, Server

Recipe = Callable[[], httpx.Response]
Recipes = dict[tuple[str, str, int], Recipe]
NS = "#microsoft.graph.identityGovernance."
# A policy that would disable every guest at once (five sponsors needed, no grace).
STRICT = POLICY_EXAMPLE | {
    "gracePeriodInDays": 0,
    "rules": [{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 5}],
}
BIG = {"content": b"{" + b" " * 70_000 + b"}", "headers": {"content-type": "application/json"}}
TEXT = {"content": b"hello", "headers": {"content-type": "text/plain"}}


class Tenant:
    """A tenant of the recipes' own: an admin app, a reader and an app with neither."""

    def __init__(self, server: Server) -> None:
        domain = f"openapi-{uuid.uuid4().hex[:8]}.example"
        server.cli("tenant", "create", "--name", "Lifecycle probe", "--domain", domain)
        self.admin = Caller.new_app(server, domain, WRITE_LIFECYCLE, INVITE, READWRITE_USERS)
        self.reader = Caller.new_app(server, domain, READ_LIFECYCLE, READ_USERS)
        self.nobody = Caller.new_app(server, domain, INVITE)
        self._policy: str | None = None

    def guest(self) -> str:
        address = f"lc.{uuid.uuid4().hex[:10]}@partner.example"
        answer = self.admin.invite({"invitedUserEmailAddress": address})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["invitedUser"]["id"])

    def new_policy(self, prefix: str) -> str:
        answer = self.admin.request("POST", prefix + POLICIES, json=POLICY_EXAMPLE)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def policy(self) -> str:
        """One policy the reading recipes share (made on first use)."""
        if self._policy is None:
            self._policy = self.new_policy("/api")
        return self._policy

    def deleted(self) -> str:
        user_id = self.guest()
        gone = self.admin.request("DELETE", f"/v1.0/users/{user_id}")
        assert gone.status_code == 204, gone.text
        return user_id


def _call(who: Caller, method: str, path: str, **kwargs: Any) -> Recipe:
    return lambda: who.request(method, path, **kwargs)


def _guarded(
    t: Tenant,
    anonymous: Callable[..., httpx.Response],
    key: tuple[str, str],
    url: Callable[[], str],
    *,
    refused: Caller,
    **kwargs: Any,
) -> Recipes:
    """The 401 (no token) and 403 (a token without the permission) of one operation."""
    path, method = key
    return {
        (path, method, 401): lambda: anonymous(method.upper(), url(), **kwargs),
        (path, method, 403): lambda: refused.request(method.upper(), url(), **kwargs),
    }


def _policy_recipes(t: Tenant, anonymous: Callable[..., httpx.Response], prefix: str) -> Recipes:
    base = prefix + POLICIES
    one = base + "/{policy_id}"

    def at(tail: str = "", policy: str | None = None) -> Callable[[], str]:
        return lambda: f"{base}/{policy or t.policy()}{tail}"

    unknown = at(policy=str(uuid.uuid4()))
    recipes: Recipes = {
        (base, "get", 200): _call(t.admin, "GET", base),
        (base, "post", 201): _call(t.admin, "POST", base, json=POLICY_EXAMPLE),
        (base, "post", 400): _call(
            t.admin, "POST", base, json=POLICY_EXAMPLE | {"gracePeriodInDays": 31}
        ),
        (base, "post", 409): lambda: (t.guest(), t.admin.request("POST", base, json=STRICT))[1],
        (base, "post", 413): _call(t.admin, "POST", base, **BIG),
        (base, "post", 415): _call(t.admin, "POST", base, **TEXT),
        (one, "get", 200): lambda: t.admin.request("GET", at()()),
        (one, "get", 404): lambda: t.admin.request("GET", unknown()),
        (one, "patch", 204): lambda: t.admin.request(
            "PATCH", at()(), json={"gracePeriodInDays": 10}
        ),
        (one, "patch", 400): lambda: t.admin.request(
            "PATCH", at()(), json={"gracePeriodInDays": 31}
        ),
        (one, "patch", 404): lambda: t.admin.request(
            "PATCH", unknown(), json={"gracePeriodInDays": 10}
        ),
        (one, "patch", 409): lambda: (
            t.guest(),
            t.admin.request("PATCH", at()(), json=STRICT),
        )[1],
        (one, "patch", 413): lambda: t.admin.request("PATCH", at()(), **BIG),
        (one, "patch", 415): lambda: t.admin.request("PATCH", at()(), **TEXT),
        (one, "delete", 204): lambda: t.admin.request("DELETE", f"{base}/{t.new_policy(prefix)}"),
        (one, "delete", 404): lambda: t.admin.request("DELETE", unknown()),
        (one + "/{part}", "get", 200): lambda: t.admin.request("GET", at("/versions")()),
        (one + "/{part}", "get", 400): lambda: t.admin.request(
            "GET", at("/impact(startDateTime=yesterday)")()
        ),
        (one + "/{part}", "get", 404): lambda: t.admin.request("GET", at("/owners")()),
        (one + "/rules", "get", 200): lambda: t.admin.request("GET", at("/rules")()),
        (one + "/rules", "get", 404): lambda: t.admin.request("GET", unknown() + "/rules"),
        (one + "/rules/{rule_id}", "get", 200): lambda: t.admin.request(
            "GET", at("/rules/rule-1")()
        ),
        (one + "/rules/{rule_id}", "get", 404): lambda: t.admin.request(
            "GET", at("/rules/rule-9")()
        ),
    }
    reads = [
        ((base, "get"), lambda: base),
        ((one, "get"), at()),
        ((one + "/{part}", "get"), at("/versions")),
        ((one + "/rules", "get"), at("/rules")),
        ((one + "/rules/{rule_id}", "get"), at("/rules/rule-1")),
    ]
    for key, url in reads:
        recipes |= _guarded(t, anonymous, key, url, refused=t.nobody)
    writes: list[tuple[tuple[str, str], Callable[[], str], dict[str, Any]]] = [
        ((base, "post"), lambda: base, {"json": POLICY_EXAMPLE}),
        ((one, "patch"), at(), {"json": {"gracePeriodInDays": 10}}),
        ((one, "delete"), at(), {}),
    ]
    for key, url, kwargs in writes:
        recipes |= _guarded(t, anonymous, key, url, refused=t.reader, **kwargs)
    attest = prefix + ATTEST

    def action(user_id: str) -> str:
        return attest.replace("{user_ref}", user_id)

    recipes |= {
        (attest, "post", 204): lambda: t.admin.request("POST", action(t.guest())),
        (attest, "post", 404): lambda: t.admin.request("POST", action(str(uuid.uuid4()))),
        **_guarded(t, anonymous, (attest, "post"), lambda: action(t.guest()), refused=t.reader),
    }
    return recipes


def _draft_recipes(t: Tenant, anonymous: Callable[..., httpx.Response]) -> Recipes:
    draft = {"policy": POLICY_EXAMPLE}
    return {
        (DRAFT, "post", 200): _call(t.admin, "POST", DRAFT, json=draft),
        (DRAFT, "post", 400): _call(
            t.admin, "POST", DRAFT, json={"policy": POLICY_EXAMPLE | {"gracePeriodInDays": 31}}
        ),
        (DRAFT, "post", 413): _call(t.admin, "POST", DRAFT, **BIG),
        (DRAFT, "post", 415): _call(t.admin, "POST", DRAFT, **TEXT),
        **_guarded(t, anonymous, (DRAFT, "post"), lambda: DRAFT, refused=t.nobody, json=draft),
    }


def _user_recipes(t: Tenant, anonymous: Callable[..., httpx.Response]) -> Recipes:
    def user(template: str, user_id: str, **more: str) -> str:
        path = template.replace("{user_ref}", user_id).replace("{item_id}", user_id)
        for name, value in more.items():
            path = path.replace(f"{{{name}}}", value)
        return path

    def sponsored() -> tuple[str, str]:
        user_id, sponsor = t.guest(), t.guest()
        body = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{sponsor}"}
        added = t.admin.request("POST", user(f"{SPONSORS}/$ref", user_id), json=body)
        assert added.status_code == 204, added.text
        return user_id, sponsor

    def ref(user_id: str, sponsor: str) -> str:
        return user(f"{SPONSORS}/{{sponsor_id}}/$ref", user_id, sponsor_id=sponsor)

    def sponsor_body() -> dict[str, str]:
        return {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{t.guest()}"}

    listed = f"{DELETED}/microsoft.graph.user"
    nobody = str(uuid.uuid4())
    recipes: Recipes = {
        (USER, "patch", 204): lambda: t.admin.request(
            "PATCH", user(USER, t.guest()), json={"accountEnabled": False}
        ),
        (USER, "patch", 400): lambda: t.admin.request(
            "PATCH", user(USER, t.guest()), json={"mail": "renamed@example.com"}
        ),
        (USER, "patch", 404): _call(
            t.admin, "PATCH", user(USER, nobody), json={"accountEnabled": False}
        ),
        (USER, "patch", 413): lambda: t.admin.request("PATCH", user(USER, t.guest()), **BIG),
        (USER, "patch", 415): lambda: t.admin.request("PATCH", user(USER, t.guest()), **TEXT),
        (SPONSORS, "get", 200): lambda: t.admin.request("GET", user(SPONSORS, sponsored()[0])),
        (SPONSORS, "get", 400): lambda: t.admin.request(
            "GET", user(SPONSORS, t.guest()) + "?$select=manager"
        ),
        (SPONSORS, "get", 404): _call(t.admin, "GET", user(SPONSORS, nobody)),
        (f"{SPONSORS}/$ref", "post", 204): lambda: t.admin.request(
            "POST", user(f"{SPONSORS}/$ref", t.guest()), json=sponsor_body()
        ),
        (f"{SPONSORS}/$ref", "post", 400): lambda: t.admin.request(
            "POST", user(f"{SPONSORS}/$ref", t.guest()), json={"@odata.id": "nope"}
        ),
        (f"{SPONSORS}/$ref", "post", 404): lambda: t.admin.request(
            "POST", user(f"{SPONSORS}/$ref", nobody), json=sponsor_body()
        ),
        (f"{SPONSORS}/$ref", "post", 413): lambda: t.admin.request(
            "POST", user(f"{SPONSORS}/$ref", t.guest()), **BIG
        ),
        (f"{SPONSORS}/$ref", "post", 415): lambda: t.admin.request(
            "POST", user(f"{SPONSORS}/$ref", t.guest()), **TEXT
        ),
        (f"{SPONSORS}/{{sponsor_id}}/$ref", "delete", 204): lambda: t.admin.request(
            "DELETE", ref(*sponsored())
        ),
        (f"{SPONSORS}/{{sponsor_id}}/$ref", "delete", 400): lambda: t.admin.request(
            "DELETE", ref(t.guest(), "x")
        ),
        (f"{SPONSORS}/{{sponsor_id}}/$ref", "delete", 404): lambda: t.admin.request(
            "DELETE", ref(t.guest(), str(uuid.uuid4()))
        ),
        (listed, "get", 200): lambda: (t.deleted(), t.admin.request("GET", listed))[1],
        (listed, "get", 400): _call(t.admin, "GET", f"{listed}?$top=0"),
        (DELETED_ITEM, "get", 200): lambda: t.admin.request("GET", user(DELETED_ITEM, t.deleted())),
        (DELETED_ITEM, "get", 400): _call(t.admin, "GET", user(DELETED_ITEM, "not-a-guid")),
        (DELETED_ITEM, "get", 404): _call(t.admin, "GET", user(DELETED_ITEM, nobody)),
        (DELETED_ITEM, "delete", 204): lambda: t.admin.request(
            "DELETE", user(DELETED_ITEM, t.deleted())
        ),
        (DELETED_ITEM, "delete", 400): _call(t.admin, "DELETE", user(DELETED_ITEM, "not-a-guid")),
        (DELETED_ITEM, "delete", 404): _call(t.admin, "DELETE", user(DELETED_ITEM, nobody)),
        (f"{DELETED_ITEM}/restore", "post", 200): lambda: t.admin.request(
            "POST", user(f"{DELETED_ITEM}/restore", t.deleted())
        ),
        (f"{DELETED_ITEM}/restore", "post", 400): _call(
            t.admin, "POST", user(f"{DELETED_ITEM}/restore", "not-a-guid")
        ),
        (f"{DELETED_ITEM}/restore", "post", 404): _call(
            t.admin, "POST", user(f"{DELETED_ITEM}/restore", nobody)
        ),
    }
    # 403: reading needs User.Read.All (t.nobody lacks it), writing User.ReadWrite.All.
    guarded: list[tuple[tuple[str, str], Callable[[], str], Caller, dict[str, Any]]] = [
        ((USER, "patch"), lambda: user(USER, t.guest()), t.reader, {"json": {}}),
        ((SPONSORS, "get"), lambda: user(SPONSORS, t.guest()), t.nobody, {}),
        (
            (f"{SPONSORS}/$ref", "post"),
            lambda: user(f"{SPONSORS}/$ref", t.guest()),
            t.reader,
            {"json": {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{nobody}"}},
        ),
        (
            (f"{SPONSORS}/{{sponsor_id}}/$ref", "delete"),
            lambda: ref(t.guest(), nobody),
            t.reader,
            {},
        ),
        ((listed, "get"), lambda: listed, t.nobody, {}),
        ((DELETED_ITEM, "get"), lambda: user(DELETED_ITEM, nobody), t.nobody, {}),
        ((DELETED_ITEM, "delete"), lambda: user(DELETED_ITEM, nobody), t.reader, {}),
        (
            (f"{DELETED_ITEM}/restore", "post"),
            lambda: user(f"{DELETED_ITEM}/restore", nobody),
            t.reader,
            {},
        ),
    ]
    for key, url, refused, kwargs in guarded:
        recipes |= _guarded(t, anonymous, key, url, refused=refused, **kwargs)
    return recipes


def lifecycle_recipes(
    server: Server, anonymous: Callable[..., httpx.Response]
) -> dict[tuple[str, str, int], Recipe]:
    t = Tenant(server)
    return {
        **_policy_recipes(t, anonymous, "/api"),
        **_policy_recipes(t, anonymous, "/v1.0"),
        **_draft_recipes(t, anonymous),
        **_user_recipes(t, anonymous),
    }
