"""Guest lifecycle policies over HTTP on SQLite and PostgreSQL: Graph's shapes, versions,
every field's limits and codes (nothing stored on a refusal), the dry run, the confirmation a
change that acts at once needs, permissions, tenants kept apart, and `attest`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e
NS = "#microsoft.graph.identityGovernance."
POLICIES = "/v1.0/identityGovernance/lifecycleWorkflows/lifecyclePolicies"
WRITE = "LifecyclePolicies-Guests.ReadWrite.All"
READ = "LifecyclePolicies-Guests.Read.All"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("lifecycle")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url)
    server.start()
    yield server
    server.stop()


def tenant_app(server: Server, *permissions: str) -> Caller:
    domain = f"t{uuid.uuid4().hex[:8]}.example"
    server.cli("tenant", "create", "--name", "Fabrikam", "--domain", domain)
    return Caller.new_app(server, domain, *permissions)


@pytest.fixture
def admin(server: Server) -> Caller:
    return tenant_app(server, WRITE, "User.Invite.All", "User.Read.All")


def body(**overrides: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "Guests: redeem in 14 d, attest every 180 d",
        "isEnabled": True,
        "gracePeriodInDays": 7,
        "scope": None,
        "enforcementAction": {
            "@odata.type": f"{NS}disableThenDeleteEnforcementAction",
            "deletionGracePeriodInDays": 30,
        },
        "rules": [
            {
                "@odata.type": f"{NS}invitationRedemptionRule",
                "isEnabled": True,
                "invitationRedemptionThresholdInDays": 14,
            },
            {
                "@odata.type": f"{NS}periodicAttestationRule",
                "isEnabled": True,
                "attestationIntervalInDays": 180,
            },
        ],
        "notificationSchedule": {
            "@odata.type": f"{NS}lifecyclePolicyNotificationSettings",
            "offsetsAfterNonComplianceInDays": [1, 7],
            "additionalFallbackRecipients": ["it-admins@contoso.com"],
        },
    }
    return policy | overrides


def count(caller: Caller) -> int:
    answer = caller.request("GET", POLICIES)
    assert answer.status_code == 200, answer.text
    return len(answer.json()["value"])


def test_create_read_change_and_versions_in_graphs_shape(admin: Caller) -> None:
    created = admin.request("POST", POLICIES, json=body())
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["@odata.type"] == f"{NS}guestLifecyclePolicy"
    assert policy["versionNumber"] == 1
    assert policy["policySource"] == "userCreated"
    assert [r["ruleType"] for r in policy["rules"]] == [
        "invitationRedemption",
        "periodicAttestation",
    ]
    assert policy["enforcementAction"]["deletionGracePeriodInDays"] == 30
    path = f"{POLICIES}/{policy['id']}"
    assert admin.request("GET", path).json()["displayName"] == policy["displayName"]
    changed = admin.request("PATCH", path, json={"gracePeriodInDays": 10})
    assert changed.status_code == 204, changed.text
    again = admin.request("GET", path).json()
    assert again["versionNumber"] == 2
    assert again["gracePeriodInDays"] == 10
    versions = admin.request("GET", f"{path}/versions").json()["value"]
    assert [(v["versionNumber"], v["gracePeriodInDays"]) for v in versions] == [(1, 7), (2, 10)]
    rules = admin.request("GET", f"{path}/rules").json()["value"]
    assert admin.request("GET", f"{path}/rules/{rules[1]['id']}").json() == rules[1]
    assert admin.request("DELETE", path).status_code == 204
    assert admin.request("GET", path).status_code == 404


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"displayName": ""}, "invalidLifecyclePolicy", "displayName"),
        ({"isEnabled": "yes"}, "invalidLifecyclePolicy", "isEnabled"),
        ({"gracePeriodInDays": 31}, "invalidLifecyclePolicy", "gracePeriodInDays"),
        (
            {"enforcementAction": {"@odata.type": f"{NS}archive"}},
            "invalidLifecyclePolicy",
            "enforcementAction.@odata.type",
        ),
        (
            {"enforcementAction": {"@odata.type": f"{NS}disableThenDeleteEnforcementAction"}},
            "invalidLifecyclePolicy",
            "enforcementAction.deletionGracePeriodInDays",
        ),
        (
            {
                "rules": [
                    {
                        "@odata.type": f"{NS}invitationRedemptionRule",
                        "invitationRedemptionThresholdInDays": 31,
                    }
                ]
            },
            "invalidLifecyclePolicy",
            "rules[0].invitationRedemptionThresholdInDays",
        ),
        (
            {
                "rules": [{"@odata.type": f"{NS}inactivityRule", "lastActivityThresholdInDays": 30}]
                * 11
            },
            "lifecyclePolicyRulesLimitExceeded",
            "rules",
        ),
        (
            {"notificationSchedule": {"offsetsAfterNonComplianceInDays": [1, 1]}},
            "invalidLifecyclePolicy",
            "notificationSchedule.offsetsAfterNonComplianceInDays[1]",
        ),
        (
            {"notificationSchedule": {"additionalFallbackRecipients": ["not an address"]}},
            "invalidLifecyclePolicy",
            "notificationSchedule.additionalFallbackRecipients[0]",
        ),
        ({"priority": 1}, "invalidLifecyclePolicy", "priority"),
        (
            {"scope": {"@odata.type": "#microsoft.graph.selectedObjectsSubjectSet"}},
            "invalidLifecyclePolicy",
            "scope",
        ),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_stored(
    admin: Caller, change: dict[str, Any], code: str, field: str
) -> None:
    answer = admin.request("POST", POLICIES, json=body(**change))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"].startswith(field)
    assert count(admin) == 0


def test_a_tenant_holds_at_most_ten_policies(admin: Caller) -> None:
    for _ in range(10):
        assert admin.request("POST", POLICIES, json=body()).status_code == 201
    answer = admin.request("POST", POLICIES, json=body())
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "lifecyclePoliciesPerSubjectLimitExceeded"
    assert count(admin) == 10


def test_a_policy_that_acts_at_once_needs_confirming(admin: Caller) -> None:
    guest = admin.invite({"invitedUserEmailAddress": f"g{uuid.uuid4().hex[:6]}@partner.example"})
    assert guest.status_code == 201, guest.text
    strict = body(
        gracePeriodInDays=0,
        rules=[{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 5}],
    )
    refused = admin.request("POST", POLICIES, json=strict)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "lifecyclePolicyConfirmationRequired"
    impact = refused.json()["impact"]
    assert [i["subject"]["id"] for i in impact] == [guest.json()["invitedUser"]["id"]]
    assert impact[0]["action"] == "disabledDueToAttestationNonCompliance"
    assert count(admin) == 0
    confirmed = admin.request("POST", f"{POLICIES}?confirm=true", json=strict)
    assert confirmed.status_code == 201, confirmed.text
    assert count(admin) == 1


def test_the_dry_run_lists_who_and_when(admin: Caller) -> None:
    guest = admin.invite({"invitedUserEmailAddress": f"g{uuid.uuid4().hex[:6]}@partner.example"})
    user_id = guest.json()["invitedUser"]["id"]
    policy = admin.request(
        "POST",
        POLICIES,
        json=body(
            gracePeriodInDays=2,
            rules=[
                {
                    "@odata.type": f"{NS}invitationRedemptionRule",
                    "invitationRedemptionThresholdInDays": 1,
                }
            ],
            notificationSchedule={"offsetsAfterNonComplianceInDays": [0]},
            enforcementAction={"@odata.type": f"{NS}disableOnlyEnforcementAction"},
        ),
    ).json()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = (
        today.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (today + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    path = f"{POLICIES}/{policy['id']}/impact(startDateTime={start},endDateTime={end})"
    answer = admin.request("GET", path, params={"$expand": "subject"})
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["value"]
    assert item["subject"]["id"] == user_id
    assert item["subject"]["mail"].startswith("g")
    day = (today + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    later = (today + timedelta(days=3)).strftime("%Y-%m-%dT00:00:00Z")
    assert item["actionsTaken"] == [
        {"actionType": "attestationNeededNotificationSent", "dateTime": day},
        {"actionType": "disabledDueToAttestationNonCompliance", "dateTime": later},
    ]
    others = admin.request("GET", path, params={"$filter": f"subject/id ne '{user_id}'"})
    assert others.json()["value"] == []
    too_long = (
        f"{POLICIES}/{policy['id']}/impact(startDateTime={start},endDateTime=2099-01-01T00:00:00Z)"
    )
    assert admin.request("GET", too_long).json()["error"]["code"] == "invalidImpactWindow"
    bad = admin.request("GET", f"{POLICIES}/{policy['id']}/impact(startDateTime=yesterday)")
    assert bad.status_code == 400
    draft = admin.request(
        "POST",
        "/api/identityGovernance/lifecycleWorkflows/draftImpact",
        json={"policy": body(), "startDateTime": start, "endDateTime": end},
    )
    assert draft.status_code == 200, draft.text
    assert draft.json()["value"] == []  # 14 days to redeem: nothing in the next ten


def test_permissions_and_tenants_are_kept_apart(server: Server, admin: Caller) -> None:
    created = admin.request("POST", POLICIES, json=body()).json()
    reader = tenant_app(server, READ)
    assert reader.request("GET", POLICIES).status_code == 200
    assert reader.request("POST", POLICIES, json=body()).status_code == 403
    stranger = tenant_app(server, WRITE)
    assert stranger.request("GET", f"{POLICIES}/{created['id']}").status_code == 404
    assert stranger.request("DELETE", f"{POLICIES}/{created['id']}").status_code == 404
    nobody = tenant_app(server, "User.Read.All")
    assert nobody.request("GET", POLICIES).status_code == 403


def test_attest_keeps_a_guest(admin: Caller) -> None:
    guest = admin.invite({"invitedUserEmailAddress": f"g{uuid.uuid4().hex[:6]}@partner.example"})
    user_id = guest.json()["invitedUser"]["id"]
    action = f"/v1.0/users/{user_id}/microsoft.graph.identityGovernance.attest"
    answer = admin.request("POST", action)
    assert answer.status_code == 204, answer.text
    missing = admin.request(
        "POST", f"/v1.0/users/{uuid.uuid4()}/microsoft.graph.identityGovernance.attest"
    )
    assert missing.status_code == 404


def test_cli_evaluates_creates_and_asks_for_confirm(
    server: Server, admin: Caller, tmp_path: Path
) -> None:
    guest = admin.invite({"invitedUserEmailAddress": f"g{uuid.uuid4().hex[:6]}@partner.example"})
    mail = guest.json()["invitedUserEmailAddress"]
    draft = tmp_path / "policy.json"
    draft.write_text(json.dumps(body(gracePeriodInDays=0)))
    soon = (datetime.now(UTC) + timedelta(days=13)).date().isoformat()
    late = (datetime.now(UTC) + timedelta(days=15)).date().isoformat()
    tenant = ["--tenant", admin.tenant]
    early = server.cli(
        "lifecycle", "evaluate", *tenant, "--as-of", soon, "--policy", str(draft), "--json"
    )
    assert json.loads(early.stdout)["value"] == []
    out = server.cli(
        "lifecycle", "evaluate", *tenant, "--as-of", late, "--policy", str(draft), "--json"
    )
    [row] = json.loads(out.stdout)["value"]
    assert row["mail"] == mail
    assert row["rule"] == "invitationRedemptionRule"
    assert row["dueByAsOf"] == [f"disable {row['disableOn']}"]
    table = server.cli("lifecycle", "evaluate", *tenant, "--as-of", late, "--policy", str(draft))
    assert mail in table.stdout
    strict = tmp_path / "strict.json"
    strict.write_text(
        json.dumps(
            body(
                gracePeriodInDays=0,
                rules=[{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 5}],
            )
        )
    )
    refused = server.cli("lifecycle", "create", *tenant, "--policy", str(strict), check=False)
    assert refused.returncode == 1
    assert "lifecyclePolicyConfirmationRequired" in refused.stderr
    assert mail in refused.stderr
    assert count(admin) == 0
    made = server.cli("lifecycle", "create", *tenant, "--policy", str(strict), "--confirm")
    assert json.loads(made.stdout)["versionNumber"] == 1
    listed = server.cli("lifecycle", "list", *tenant, "--json")
    assert len(json.loads(listed.stdout)["value"]) == 1
