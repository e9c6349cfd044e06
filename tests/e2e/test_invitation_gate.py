"""The invitation gate on a running server: domain lists and allowInvitesFrom refuse an invite
before anything is stored or sent, on every way in (single, bulk, Graph, CLI); a domain
blocked after the invite cannot redeem; the policy API's permissions."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from guestgate.domain.apps import INVITE, READ_POLICY, WRITE_POLICY
from tests.e2e.guest import Guest
from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
TABLES = ("users", "invitations", "audit_events", "events", "outbox")
DEFINITION = '{{"B2BManagementPolicy":{{"InvitationsAllowedAndBlockedDomainsPolicy":{lists}}}}}'


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("gate")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(server: Server) -> Caller:
    return Caller.new_app(server, "contoso.example", INVITE, WRITE_POLICY)


def counts(server: Server) -> dict[str, int]:
    url = server.database_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    with psycopg.connect(url) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def set_domains(admin: Caller, lists: dict[str, list[str]]) -> dict[str, Any]:
    answer = admin.request(
        "PATCH",
        "/api/policies/invitations",
        json={"definition": [DEFINITION.format(lists=json.dumps(lists))]},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def set_inviters(admin: Caller, value: str) -> None:
    answer = admin.request(
        "PATCH", "/v1.0/policies/authorizationPolicy", json={"allowInvitesFrom": value}
    )
    assert answer.status_code == 204, answer.text


def address(domain: str) -> str:
    return f"g.{uuid.uuid4().hex[:10]}@{domain}"


def test_a_blocked_domain_is_refused_on_every_way_in_and_nothing_is_stored(
    server: Server, admin: Caller
) -> None:
    set_inviters(admin, "everyone")
    stored = set_domains(admin, {"BlockedDomains": ["Blocked.Example", "*.sub.example"]})
    assert json.loads(stored["definition"][0])["B2BManagementPolicy"][
        "InvitationsAllowedAndBlockedDomainsPolicy"
    ] == {"BlockedDomains": ["blocked.example", "*.sub.example"]}
    before = counts(server)
    single = admin.invite({"invitedUserEmailAddress": address("blocked.example")})
    assert single.status_code == 403, single.text
    assert single.json()["error"]["code"] == "DomainNotAllowed"
    assert "blocked.example" in single.json()["error"]["message"]
    graph = admin.request(
        "POST",
        "/v1.0/invitations",
        json={
            "invitedUserEmailAddress": address("a.sub.example"),
            "inviteRedirectUrl": "https://contoso.example",
        },
    )
    assert graph.status_code == 403, graph.text
    assert graph.json()["error"]["code"] == "DomainNotAllowed"
    bulk = admin.request(
        "POST",
        "/api/InviteGuests",
        json={
            "invitations": [
                {"invitedUserEmailAddress": address("blocked.example")},
                {"invitedUserEmailAddress": address("fine.example")},
            ]
        },
    )
    assert bulk.status_code == 200, bulk.text
    items = bulk.json()["value"]
    assert (items[0]["index"], items[0]["status"]) == (0, 403)
    assert items[0]["error"]["code"] == "DomainNotAllowed"
    assert items[1]["status"] == 201
    cli = server.cli(
        "invite", address("BLOCKED.example"), "--tenant", "contoso.example", check=False
    )
    assert cli.returncode == 1
    assert "DomainNotAllowed" in cli.stderr
    after = counts(server)
    # Only the bulk call's allowed entry was stored: a user, an invitation, its audit row
    # and its event (no mail: sendInvitationMessage was not asked for).
    assert {t: after[t] - before[t] for t in TABLES} == {
        "users": 1,
        "invitations": 1,
        "audit_events": 1,
        "events": 1,
        "outbox": 0,
    }
    # The apex of a wildcard entry is not blocked.
    assert admin.invite({"invitedUserEmailAddress": address("sub.example")}).status_code == 201


def test_an_allow_list_refuses_every_other_domain(server: Server, admin: Caller) -> None:
    set_inviters(admin, "everyone")
    set_domains(admin, {"AllowedDomains": ["fabrikam.example"]})
    assert admin.invite({"invitedUserEmailAddress": address("fabrikam.example")}).status_code == 201
    refused = admin.invite({"invitedUserEmailAddress": address("other.example")})
    assert refused.status_code == 403
    assert "other.example" in refused.json()["error"]["message"]
    set_domains(admin, {})


def test_allow_invites_from_judges_the_requester(server: Server, admin: Caller) -> None:
    set_domains(admin, {})
    set_inviters(admin, "adminsGuestInvitersAndAllMembers")
    member = f"boss.{uuid.uuid4().hex[:6]}@contoso.example"  # on the tenant's own domain
    ok = admin.invite({"invitedUserEmailAddress": address("x.example"), "requestedBy": member})
    assert ok.status_code == 201, ok.text
    before = counts(server)
    stranger = admin.invite(
        {"invitedUserEmailAddress": address("x.example"), "requestedBy": "eve@evil.example"}
    )
    assert stranger.status_code == 403
    assert stranger.json()["error"]["code"] == "InviterNotAllowed"
    assert "eve@evil.example" in stranger.json()["error"]["message"]
    set_inviters(admin, "adminsAndGuestInviters")
    assert (
        admin.invite({"invitedUserEmailAddress": address("x.example"), "requestedBy": member})
    ).status_code == 403
    set_inviters(admin, "none")
    alone = admin.invite({"invitedUserEmailAddress": address("x.example")})
    assert alone.status_code == 403
    assert "none" in alone.json()["error"]["message"]
    after = counts(server)
    # The two policy changes are audited; the refused invites left nothing.
    assert {t: after[t] - before[t] for t in TABLES} == dict.fromkeys(TABLES, 0) | {
        "audit_events": 2
    }
    set_inviters(admin, "adminsAndGuestInviters")
    # An app inviting alone keeps its permission check.
    assert admin.invite({"invitedUserEmailAddress": address("x.example")}).status_code == 201
    set_inviters(admin, "everyone")


def test_a_domain_blocked_after_the_invite_cannot_redeem(server: Server, admin: Caller) -> None:
    set_inviters(admin, "everyone")
    set_domains(admin, {})
    made = admin.invite({"invitedUserEmailAddress": address("later.example")})
    assert made.status_code == 201, made.text
    set_domains(admin, {"BlockedDomains": ["later.example"]})
    guest = Guest(server)
    try:
        page = guest.open(made.json()["inviteRedeemUrl"])
    finally:
        guest.close()
    assert page.status_code == 403
    assert "This invitation can no longer be accepted" in page.text
    assert "later.example" in page.text
    set_domains(admin, {})


def test_the_policy_api_needs_its_permissions_and_refuses_bad_input(
    server: Server, admin: Caller
) -> None:
    inviter = Caller.new_app(server, "contoso.example", INVITE)
    for method, path in (
        ("GET", "/api/policies/invitations"),
        ("PATCH", "/api/policies/invitations"),
        ("GET", "/v1.0/policies/authorizationPolicy"),
        ("PATCH", "/v1.0/policies/authorizationPolicy"),
    ):
        answer = inviter.request(method, path, json={} if method == "PATCH" else None)
        assert answer.status_code == 403, (path, answer.text)
    reader = Caller.new_app(server, "contoso.example", READ_POLICY)
    read = reader.request("GET", "/v1.0/policies/authorizationPolicy")
    assert read.status_code == 200
    assert read.json()["allowInvitesFrom"] in ("everyone", "adminsAndGuestInviters")
    both = admin.request(
        "PATCH",
        "/api/policies/invitations",
        json={
            "definition": [
                DEFINITION.format(
                    lists=json.dumps({"AllowedDomains": ["a.example"], "BlockedDomains": ["b.x"]})
                )
            ]
        },
    )
    assert both.status_code == 400
    assert "never both" in both.json()["error"]["message"]
    bad = admin.request(
        "PATCH", "/v1.0/policies/authorizationPolicy", json={"allowInvitesFrom": "admins"}
    )
    assert bad.status_code == 400
    assert "allowInvitesFrom" in bad.json()["error"]["message"]
    entry = admin.request(
        "PATCH",
        "/api/policies/invitations",
        json={"definition": [DEFINITION.format(lists='{"BlockedDomains":["ok.example","x y"]}')]},
    )
    assert entry.status_code == 400
    assert "BlockedDomains[1]" in entry.json()["error"]["message"]


def test_the_cli_shows_and_sets_the_policy(server: Server, admin: Caller) -> None:
    changed = server.cli(
        "policy",
        "set",
        "--tenant",
        "contoso.example",
        "--blocked-domains",
        "Gmail.com,*.Bücher.example",
        "--allow-invites-from",
        "adminsGuestInvitersAndAllMembers",
        "--json",
    )
    shown = json.loads(server.cli("policy", "show", "--tenant", "contoso.example", "--json").stdout)
    assert json.loads(changed.stdout) == shown
    assert shown["blockedDomains"] == ["gmail.com", "*.xn--bcher-kva.example"]
    assert shown["allowInvitesFrom"] == "adminsGuestInvitersAndAllMembers"
    refused = admin.invite({"invitedUserEmailAddress": address("gmail.com")})
    assert refused.status_code == 403
    both = server.cli(
        "policy",
        "set",
        "--tenant",
        "contoso.example",
        "--blocked-domains",
        "a.example",
        "--allowed-domains",
        "b.example",
        check=False,
    )
    assert both.returncode == 1
    assert "never both" in both.stderr
    bad = server.cli(
        "policy", "set", "--tenant", "contoso.example", "--allow-invites-from", "x", check=False
    )
    assert bad.returncode == 1
    assert "--allow-invites-from" in bad.stderr
    server.cli(
        "policy",
        "set",
        "--tenant",
        "contoso.example",
        "--blocked-domains",
        "",
        "--allow-invites-from",
        "everyone",
    )
