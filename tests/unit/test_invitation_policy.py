"""The invitation policy's pure rules: Entra's definition JSON, domain matching, who may invite."""

from __future__ import annotations

import json

import pytest

from guestgate.domain import invitation_policy as rules
from guestgate.errors import ValidationError


def definition(**lists: list[str]) -> str:
    return json.dumps({"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": lists}})


def test_a_domain_entry_matches_that_domain_only_not_its_subdomains() -> None:
    assert rules.entry_matches("contoso.com", "contoso.com")
    assert not rules.entry_matches("contoso.com", "sales.contoso.com")
    assert not rules.entry_matches("contoso.com", "evil-contoso.com")


def test_a_wildcard_entry_matches_subdomains_never_the_apex_or_lookalikes() -> None:
    assert rules.entry_matches("*.contoso.com", "sales.contoso.com")
    assert rules.entry_matches("*.contoso.com", "a.b.contoso.com")
    assert not rules.entry_matches("*.contoso.com", "contoso.com")
    assert not rules.entry_matches("*.contoso.com", "evil-contoso.com")


def test_entries_are_lower_cased_idna_encoded_and_deduplicated() -> None:
    policy = rules.parse_definition(
        definition(BlockedDomains=["Gmail.COM", " gmail.com", "Bücher.example", "*.ＥＸ.org"])
    )
    assert policy.blocked == ("gmail.com", "xn--bcher-kva.example", "*.ex.org")
    assert policy.mode == "block"


def test_an_allow_list_refuses_every_other_domain_and_names_it() -> None:
    policy = rules.parse_definition(definition(AllowedDomains=["fabrikam.com"]))
    assert policy.refusal("fabrikam.com") is None
    refusal = policy.refusal("gmail.com")
    assert refusal is not None
    assert "gmail.com" in refusal
    assert "allowed" in refusal


def test_a_block_list_refuses_only_its_domains() -> None:
    policy = rules.parse_definition(definition(BlockedDomains=["gmail.com"]))
    assert policy.refusal("fabrikam.com") is None
    assert "blocked" in (policy.refusal("gmail.com") or "")


def test_an_empty_allow_list_beside_a_block_list_is_a_block_list() -> None:
    policy = rules.parse_definition(definition(AllowedDomains=[], BlockedDomains=["gmail.com"]))
    assert policy.mode == "block"


def test_both_lists_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="never both") as caught:
        rules.parse_definition(definition(AllowedDomains=["a.com"], BlockedDomains=["b.com"]))
    assert "InvitationsAllowedAndBlockedDomainsPolicy" in caught.value.message


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("not a domain", "BlockedDomains[1]"),
        ("com", "BlockedDomains[1]"),
        ("*.*.com", "BlockedDomains[1]"),
        ("a@b.com", "BlockedDomains[1]"),
        ("-bad-.com", "BlockedDomains[1]"),
        (7, "BlockedDomains[1]"),
    ],
)
def test_a_bad_entry_is_refused_naming_its_place(entry: object, needle: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rules.parse_definition(definition(BlockedDomains=["ok.com", entry]))  # type: ignore[list-item]
    assert needle in caught.value.message
    assert caught.value.code == rules.POLICY_CODE


def test_a_definition_over_25000_characters_is_refused() -> None:
    many = [f"d{i:05}.example" for i in range(2000)]
    with pytest.raises(ValidationError, match="25000"):
        rules.parse_definition(definition(BlockedDomains=many))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{",
        '{"Other":{}}',
        '{"B2BManagementPolicy":[]}',
        '{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"Extra":[]}}}',
    ],
)
def test_malformed_definitions_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        rules.parse_definition(text)


def test_other_settings_are_kept_and_the_definition_round_trips() -> None:
    text = (
        '{"B2BManagementPolicy":{"Version":1,"InvitationsAllowedAndBlockedDomainsPolicy":'
        '{"AllowedDomains":["fabrikam.com"]}}}'
    )
    policy = rules.parse_definition(text)
    assert policy.other == {"Version": 1}
    assert rules.parse_definition(policy.definition()) == policy


def test_switching_lists_throws_the_old_list_away() -> None:
    policy = rules.from_lists(allowed=None, blocked=["gmail.com"], other={"Version": 1})
    assert (policy.allowed, policy.blocked) == ((), ("gmail.com",))
    cleared = rules.from_lists(allowed=[], blocked=None, other=policy.other)
    assert cleared.mode == "open"
    assert cleared.other == {"Version": 1}


def test_allow_invites_from_takes_entras_values_and_defaults_to_everyone() -> None:
    assert rules.DEFAULT_ALLOW_INVITES_FROM == rules.EVERYONE
    for value in rules.ALLOW_INVITES_FROM:
        assert rules.check_allow_invites_from(value) == value
    with pytest.raises(ValidationError, match="allowInvitesFrom"):
        rules.check_allow_invites_from("admins")


def test_who_may_invite_under_each_setting() -> None:
    refuse = rules.inviter_refusal
    # An app alone (no requestedBy) is judged by its permission, except under `none`.
    assert refuse(rules.NONE, requester=None, member=False) is not None
    assert refuse(rules.ADMINS_AND_GUEST_INVITERS, requester=None, member=False) is None
    assert refuse(rules.EVERYONE, requester="x@guest.example", member=False) is None
    members = rules.ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS
    assert refuse(members, requester="m@contoso.com", member=True) is None
    assert "x@guest.example" in (refuse(members, requester="x@guest.example", member=False) or "")
    # No roles exist yet: no person is an admin or guest inviter.
    assert refuse(rules.ADMINS_AND_GUEST_INVITERS, requester="m@contoso.com", member=True)
