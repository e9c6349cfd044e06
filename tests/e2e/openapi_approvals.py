"""Recipes for tests/e2e/test_openapi.py: the 202 of an invite held for an approver, on
/api/InviteGuest and /v1.0/invitations. The approval rule names a domain of its own, so
every other recipe's invite goes through as before."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from guestgate.domain.apps import INVITE, WRITE_POLICY
from tests.e2e.server import Caller, Server

HELD = "held-for-approval.example"
Recipe = Callable[[], httpx.Response]


def approval_recipes(server: Server, tenant: str) -> dict[tuple[str, str, int], Recipe]:
    admin = Caller.new_app(server, tenant, INVITE, WRITE_POLICY)

    def held(path: str) -> Recipe:
        def run() -> httpx.Response:
            rule = {"guestgateApproval": {"requiredFor": [HELD]}}
            assert admin.request("PATCH", "/api/policies/invitations", json=rule).is_success
            address = f"g.{uuid.uuid4().hex[:8]}@{HELD}"
            body = {"invitedUserEmailAddress": address, "inviteRedirectUrl": "https://a.example"}
            return admin.request("POST", path, json=body)

        return run

    return {
        ("/api/InviteGuest", "post", 202): held("/api/InviteGuest"),
        ("/v1.0/invitations", "post", 202): held("/v1.0/invitations"),
    }
