"""Webhook rules: signatures the reference libraries accept, the retry schedule, SSRF targets."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks
import svix.webhooks

from guestgate.domain import events as event_rules
from guestgate.domain import webhooks as rules
from guestgate.errors import ValidationError

NOW = datetime(2026, 3, 4, 10, 0, 0, tzinfo=UTC)


def _body() -> str:
    return event_rules.render(
        event_type=event_rules.INVITATION_CREATED,
        sequence=7,
        tenant_id="t",
        now=NOW,
        data={"invitationId": "i", "userId": "u"},
    )


def test_a_signed_delivery_verifies_with_standardwebhooks_and_svix() -> None:
    secret = rules.new_secret(bytes(range(32)))
    body = _body()
    headers = rules.headers(
        [secret],
        msg_id="0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a",
        timestamp=int(time.time()),
        body=body,
    )
    assert standardwebhooks.Webhook(secret).verify(body, headers)["data"]["sequence"] == 7
    svix.webhooks.Webhook(secret).verify(body, headers)  # returns None; raises when wrong


def test_a_delivery_signed_by_another_secret_is_refused_by_both_libraries() -> None:
    body = _body()
    headers = rules.headers(
        [rules.new_secret(b"a" * 32)], msg_id="m", timestamp=int(time.time()), body=body
    )
    other = rules.new_secret(b"b" * 32)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(body, headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(other).verify(body, headers)


def test_during_the_overlap_both_the_old_and_the_new_secret_verify() -> None:
    old, new = rules.new_secret(b"o" * 32), rules.new_secret(b"n" * 32)
    until = (NOW + timedelta(hours=1)).isoformat()
    signing = rules.signing_secrets(new, old, until, NOW.isoformat())
    body = _body()
    headers = rules.headers(signing, msg_id="m", timestamp=int(time.time()), body=body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(body, headers)
        svix.webhooks.Webhook(secret).verify(body, headers)


def test_after_the_overlap_only_the_new_secret_signs() -> None:
    until = (NOW - timedelta(seconds=1)).isoformat()
    assert rules.signing_secrets("new", "old", until, NOW.isoformat()) == ["new"]


def test_secrets_are_standard_base64_that_the_libraries_decode() -> None:
    raw = bytes([0xFB, 0xFF, 0xBF] * 11)  # encodes to '+' and '/', never '-' or '_'
    secret = rules.new_secret(raw)
    assert secret.startswith("whsec_")
    assert rules.secret_bytes(secret) == raw
    assert "-" not in secret
    assert "_" not in secret.removeprefix("whsec_")


def test_the_body_is_the_spec_payload_with_the_sequence_and_no_secrets() -> None:
    body = json.loads(_body())
    assert set(body) == {"type", "timestamp", "data"}
    assert body["timestamp"] == "2026-03-04T10:00:00.000000Z"
    assert body["data"] == {"tenantId": "t", "sequence": 7, "invitationId": "i", "userId": "u"}


def test_every_event_type_is_a_dotted_identifier() -> None:
    assert event_rules.check_event_types(list(event_rules.EVENT_TYPES)) == tuple(
        event_rules.EVENT_TYPES
    )
    with pytest.raises(ValidationError) as caught:
        event_rules.check_event_types(["invitation.created", "invitation.exploded"])
    assert caught.value.code == "UnknownEventType"


def test_retries_follow_the_spec_schedule_with_jitter() -> None:
    rng = random.Random(1)
    for attempts, base in enumerate(rules.RETRY_SCHEDULE, start=1):
        moment = rules.next_attempt(NOW, attempts, retry_after=None, rng=rng)
        assert moment is not None
        delay = (moment - NOW).total_seconds()
        assert base * 0.8 <= delay <= base * 1.2
    assert rules.next_attempt(NOW, rules.MAX_ATTEMPTS, retry_after=None) is None
    total = sum(rules.RETRY_SCHEDULE) / 3600
    assert 75 <= total <= 76


def test_retry_after_is_honoured_up_to_a_day() -> None:
    soon = rules.next_attempt(NOW, 1, retry_after=120, rng=random.Random(2))
    assert soon is not None
    assert (soon - NOW).total_seconds() == 120
    capped = rules.next_attempt(NOW, 1, retry_after=10**9, rng=random.Random(2))
    assert capped is not None
    assert (capped - NOW).total_seconds() == rules.MAX_RETRY_AFTER


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "ff02::1",
        "not-an-address",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not rules.address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert rules.address_allowed(address, allow_private=False)


def test_the_operator_may_allow_private_targets() -> None:
    assert rules.address_allowed("127.0.0.1", allow_private=True)
    assert rules.address_allowed("::ffff:10.0.0.1", allow_private=True)
    assert not rules.address_allowed("0.0.0.0", allow_private=True)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "InvalidWebhookUrl"),
        ("ftp://example.com/hook", "InvalidWebhookUrl"),
        ("https://user:pw@example.com/hook", "InvalidWebhookUrl"),
        ("https:///hook", "InvalidWebhookUrl"),
        ("https://example.com/ho ok", "InvalidWebhookUrl"),
        ("https://example.com:99999/hook", "InvalidWebhookUrl"),
        ("https://example.com/hook#part", "InvalidWebhookUrl"),
        ("https://exämple.com/hook", "InvalidWebhookUrl"),
        ("https://example.com/hook\x00", "InvalidWebhookUrl"),
        ("https://example.com/" + "a" * 2100, "InvalidWebhookUrl"),
        ("https://127.0.0.1/hook", "WebhookTargetNotAllowed"),
        ("https://[::1]/hook", "WebhookTargetNotAllowed"),
        ("https://[::ffff:127.0.0.1]/hook", "WebhookTargetNotAllowed"),
        ("https://169.254.169.254/latest/meta-data", "WebhookTargetNotAllowed"),
        ("https://10.0.0.8/hook", "WebhookTargetNotAllowed"),
        ("https://[fe80::1]/hook", "WebhookTargetNotAllowed"),
    ],
)
def test_bad_webhook_urls_are_refused_with_a_code(url: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rules.check_url(url, allow_private=False)
    assert caught.value.code == code


def test_a_good_url_keeps_its_path_and_query() -> None:
    target = rules.check_url("https://Hooks.Example.com:8443/in?key=1", allow_private=False)
    assert target == rules.Target("https", "hooks.example.com", 8443, "/in?key=1")
