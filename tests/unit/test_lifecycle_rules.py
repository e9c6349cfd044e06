"""Lifecycle policies: parsing with Entra's limits, and the evaluation (pure, time passed in)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from guestgate.domain.lifecycle import (
    DISABLE_THEN_DELETE,
    READ_ONLY,
    parse_policy,
    patch_policy,
    policy_json,
    with_rule_ids,
)
from guestgate.domain.lifecycle_eval import (
    DELETE,
    DISABLE,
    NOTIFY,
    GuestFacts,
    acts_at_once,
    due_steps,
    impact,
    timeline,
)
from guestgate.errors import ValidationError

NS = "#microsoft.graph.identityGovernance."
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def raw(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": f"{NS}guestLifecyclePolicy",
        "displayName": "p",
        "isEnabled": True,
        "gracePeriodInDays": 7,
        "enforcementAction": {
            "@odata.type": f"{NS}disableThenDeleteEnforcementAction",
            "deletionGracePeriodInDays": 30,
        },
        "rules": [
            {
                "@odata.type": f"{NS}invitationRedemptionRule",
                "invitationRedemptionThresholdInDays": 14,
            }
        ],
        "notificationSchedule": {"offsetsAfterNonComplianceInDays": [5, 1]},
    }
    return body | overrides


def guest(**overrides: Any) -> GuestFacts:
    values: dict[str, Any] = {
        "user_id": "u1",
        "display_name": "Ada",
        "mail": "ada@fabrikam.example",
        "created_at": T0,
        "pending": True,
        "invited_at": T0,
        "last_sign_in": None,
    }
    return GuestFacts(**(values | overrides))


def test_the_documented_example_falls_on_its_days() -> None:
    policy = parse_policy(raw(), tenant_id="t")
    line = timeline(policy, guest(), effective=T0)
    assert line is not None
    assert line.noncompliant_on == date(2026, 3, 15)
    assert line.notices == (date(2026, 3, 16), date(2026, 3, 20))
    assert line.disable_on == date(2026, 3, 22)
    assert line.delete_on == date(2026, 4, 21)
    assert [s for s, _ in line.steps()] == [NOTIFY, NOTIFY, DISABLE, DELETE]


@pytest.mark.parametrize(
    ("kind", "prop", "value", "facts", "start"),
    [
        (
            "inactivityRule",
            "lastActivityThresholdInDays",
            90,
            {"pending": False, "last_sign_in": T0},
            date(2026, 5, 30),
        ),
        (
            "periodicAttestationRule",
            "attestationIntervalInDays",
            180,
            {"kept_at": T0 + timedelta(days=31)},
            date(2026, 9, 28),
        ),
        ("sponsorPresenceRule", "minimumSponsorCount", 1, {"sponsors": ()}, date(2026, 3, 1)),
    ],
)
def test_each_rule_counts_from_its_clock(
    kind: str, prop: str, value: int, facts: dict[str, Any], start: date
) -> None:
    policy = parse_policy(raw(rules=[{"@odata.type": f"{NS}{kind}", prop: value}]), tenant_id="t")
    line = timeline(policy, guest(**facts), effective=T0)
    assert line is not None
    assert line.noncompliant_on == start


def test_compliant_guests_have_no_timeline() -> None:
    policy = parse_policy(raw(), tenant_id="t")
    assert timeline(policy, guest(pending=False), effective=T0) is None
    sponsors = parse_policy(
        raw(rules=[{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 1}]),
        tenant_id="t",
    )
    assert timeline(sponsors, guest(sponsors=("s",)), effective=T0) is None


def test_a_keep_moves_every_clock() -> None:
    policy = parse_policy(raw(), tenant_id="t")
    kept = timeline(policy, guest(kept_at=T0 + timedelta(days=10)), effective=T0)
    assert kept is not None
    assert kept.noncompliant_on == date(2026, 3, 25)


def test_the_rule_whose_action_comes_first_decides() -> None:
    rules = [
        {"@odata.type": f"{NS}invitationRedemptionRule", "invitationRedemptionThresholdInDays": 14},
        {
            "@odata.type": f"{NS}periodicAttestationRule",
            "attestationIntervalInDays": 16,
            "gracePeriodInDays": 0,
        },
    ]
    line = timeline(parse_policy(raw(rules=rules), tenant_id="t"), guest(), effective=T0)
    assert line is not None
    assert line.rule == "periodicAttestationRule"
    assert line.disable_on == date(2026, 3, 17)


def test_impact_and_due_steps_agree() -> None:
    policy = parse_policy(raw(), tenant_id="t")
    guests = [guest(user_id=f"u{i}", invited_at=T0 + timedelta(days=i)) for i in range(5)]
    window = impact(policy, guests, effective=T0, start=date(2026, 3, 1), end=date(2026, 3, 22))
    predicted = {(g.user_id, s, d) for g, steps in window for s, d in steps}
    due = {
        (s.user_id, s.step, s.due_on)
        for s in due_steps(policy, guests, effective=T0, today=date(2026, 3, 22))
    }
    assert predicted == due
    assert ("u0", DISABLE, date(2026, 3, 22)) in due


def test_acts_at_once_skips_what_is_done_and_disabled_policies() -> None:
    policy = parse_policy(raw(gracePeriodInDays=0), tenant_id="t")
    late = T0 + timedelta(days=20)
    steps = acts_at_once(policy, [guest()], effective=T0, today=late.date())
    assert [(s.step, s.due_on) for s in steps] == [(DISABLE, date(2026, 3, 15))]
    assert (
        acts_at_once(policy, [guest()], effective=T0, today=late.date(), done={("u1", DISABLE)})
        == []
    )
    off = parse_policy(raw(isEnabled=False, gracePeriodInDays=0), tenant_id="t")
    assert acts_at_once(off, [guest()], effective=T0, today=late.date()) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"@odata.type": f"{NS}agentIdentityLifecyclePolicy"}, "body.@odata.type"),
        ({"displayName": "x" * 257}, "displayName"),
        ({"displayName": "a\x00b"}, "displayName"),
        ({"gracePeriodInDays": -1}, "gracePeriodInDays"),
        ({"gracePeriodInDays": True}, "gracePeriodInDays"),
        ({"rules": []}, "rules"),
        ({"rules": "all"}, "rules"),
        (
            {"rules": [{"@odata.type": f"{NS}sponsorPresenceRule", "minimumSponsorCount": 6}]},
            "rules[0].minimumSponsorCount",
        ),
        (
            {
                "rules": [
                    {
                        "@odata.type": f"{NS}inactivityRule",
                        "lastActivityThresholdInDays": 5,
                        "extra": 1,
                    }
                ]
            },
            "rules[0].extra",
        ),
        (
            {
                "enforcementAction": {
                    "@odata.type": f"{NS}deleteOnlyEnforcementAction",
                    "deletionGracePeriodInDays": 3,
                }
            },
            "enforcementAction.deletionGracePeriodInDays",
        ),
        (
            {"notificationSchedule": {"offsetsAfterNonComplianceInDays": list(range(11))}},
            "notificationSchedule.offsetsAfterNonComplianceInDays",
        ),
        ({"notificationSchedule": "daily"}, "notificationSchedule"),
    ],
)
def test_every_field_is_checked_and_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_policy(raw(**change), tenant_id="t")
    assert refused.value.message.startswith(field)


def test_a_round_trip_and_a_patch_keep_the_policy() -> None:
    policy = with_rule_ids(parse_policy(raw(), tenant_id="t"))
    shown = {k: v for k, v in policy_json(policy).items() if k not in READ_ONLY}
    again = with_rule_ids(parse_policy(shown, tenant_id="t"))
    assert again == policy
    assert again.action == DISABLE_THEN_DELETE
    patched = patch_policy(policy, {"gracePeriodInDays": 3})
    assert patched.grace_days == 3
    assert patched.rules == parse_policy(raw(), tenant_id="t").rules
    with pytest.raises(ValidationError):
        patch_policy(policy, {"versionNumber": 9})
