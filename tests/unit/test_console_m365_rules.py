"""Microsoft 365 console rules: its settings, directory roles (`wids`) and sealed sessions."""

from __future__ import annotations

import time

import pytest

from guestgate.config import ConsoleSettings
from guestgate.config_env import from_env
from guestgate.domain import oidc
from guestgate.domain.roles import (
    GLOBAL_ADMINISTRATOR,
    GUEST_INVITER,
    READER,
    SPONSOR,
    USER_ADMINISTRATOR,
    directory_role_ids,
    roles_of_directory_roles,
)
from guestgate.domain.users import MEMBER, User
from guestgate.errors import ConfigError
from guestgate.services.console_m365 import opened_person, person_of, sealed_person

APP = "0b7cbd1a-6e5c-4c55-9a8e-0c5f8a1e9d11"
KEY = "ZGV2LWtleS1mb3ItdGVzdHMtb25seS1ub3QtYS1yZWFsLWtleQ=="


def test_the_settings_come_from_the_environment_and_go_together() -> None:
    settings = from_env(
        {
            "GUESTGATE_SECRET_KEY": KEY,
            "GUESTGATE_CONSOLE_AUTHORITY": "https://login.microsoftonline.com/t/v2.0/",
            "GUESTGATE_CONSOLE_CLIENT_ID": APP,
            "GUESTGATE_CONSOLE_CLIENT_SECRET": "s3cret",
        },
        create_secret_key=False,
    )
    assert settings.console.authority == "https://login.microsoftonline.com/t/v2.0"
    assert settings.console.enabled
    assert "s3cret" not in repr(settings)
    assert not from_env({"GUESTGATE_SECRET_KEY": KEY}, create_secret_key=False).console.enabled


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"authority": "http://login.example/t/v2.0", "client_id": APP}, "https"),
        ({"authority": "https://login.example/t/v2.0?x=1", "client_id": APP}, "https"),
        ({"authority": "https://login.example/t/v2.0"}, "go together"),
        ({"client_id": APP}, "go together"),
        ({"client_secret": "s"}, "go together"),
        ({"authority": "https://login.example/t", "client_id": "not-a-guid"}, "GUID"),
    ],
)
def test_bad_settings_name_the_problem(values: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        ConsoleSettings(**values)


def test_http_is_only_for_localhost() -> None:
    assert ConsoleSettings(authority="http://127.0.0.1:9/t/v2.0", client_id=APP).enabled


def test_wids_carry_the_directory_roles_and_map_back() -> None:
    ids = directory_role_ids(frozenset({GLOBAL_ADMINISTRATOR, SPONSOR, READER}))
    assert ids == sorted(
        ["62e90394-69f5-4237-9190-012177145e10", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"]
    )
    assert roles_of_directory_roles(ids) == {GLOBAL_ADMINISTRATOR, READER}
    assert roles_of_directory_roles(
        ["fe930be7-5e62-47f5-a3b1-9e5c1e2b3bdc", "95e79109-95c0-4d8e-aee3-d01accf2d47b"]
    ) == {USER_ADMINISTRATOR, GUEST_INVITER}
    assert roles_of_directory_roles(["b79fbf4d-3ef9-4689-8143-76b194e85509", 7]) == frozenset()
    assert roles_of_directory_roles("62e90394-69f5-4237-9190-012177145e10") == frozenset()


def test_an_id_token_names_wids_only_when_there_are_some() -> None:
    user = User(
        id="u",
        tenant_id="t",
        user_type=MEMBER,
        display_name="Avery",
        mail="avery@contoso.example",
        email_key="avery@contoso.example",
        user_principal_name="avery@contoso.example",
        external_user_state=None,
        external_user_state_changed_at=None,
        creation_type=None,
        created_at="2026-01-01T00:00:00.000000Z",
    )
    common = {
        "issuer": "https://x/t/v2.0",
        "app_id": APP,
        "user": user,
        "subject": "s",
        "scopes": ["openid"],
        "nonce": "n",
        "auth_time": 1,
        "sid": "sid",
        "guest_idp": "idp",
        "now": 1,
        "lifetime": 60,
        "uti": "u",
    }
    assert "wids" not in oidc.id_token_claims(**common)  # type: ignore[arg-type]
    with_roles = oidc.id_token_claims(**common, wids=["62e90394-69f5-4237-9190-012177145e10"])  # type: ignore[arg-type]
    assert with_roles["wids"] == ["62e90394-69f5-4237-9190-012177145e10"]


def test_a_session_round_trips_and_expires() -> None:
    claims = {
        "tid": "t",
        "oid": "o",
        "preferred_username": "avery@contoso.example",
        "name": "Avery",
        "wids": ["62e90394-69f5-4237-9190-012177145e10"],
    }
    person = person_of(
        claims, session_hash="h", expires_at=int(time.time()) + 60, signed_in_at=None
    )
    assert person.email == "avery@contoso.example"
    assert person.roles == [GLOBAL_ADMINISTRATOR]
    assert opened_person(sealed_person(person), now=time.time()) == person
    assert opened_person(sealed_person(person), now=time.time() + 120) is None
    assert opened_person(b"{}", now=time.time()) is None
    assert opened_person(b"not json", now=time.time()) is None
