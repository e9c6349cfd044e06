"""`numbered` fills the number into a rendered event body without parsing it, and gives
exactly the bytes that parsing and rendering again would."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from guestgate.domain import events as rules
from guestgate.domain.timestamps import utcnow

AWKWARD: list[Any] = [
    None,
    {"sequence": None},
    ',"sequence":null',
    '"data":{"tenantId":"x","sequence":null}',
    "Zoë \u2028 \\ \" ' 😀",
    [1, {"sequence": None}],
]


def parsed(body: str, sequence: int) -> str:
    payload = json.loads(body)
    payload["data"]["sequence"] = sequence
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("seed", range(30))
def test_numbered_is_what_parsing_would_give(seed: int) -> None:
    pick = random.Random(seed)
    data = {f"k{i}": pick.choice(AWKWARD) for i in range(pick.randrange(6))}
    tenant = pick.choice(
        ["6c8b0000-0000-4000-8000-000000000000", 'odd"tenant', 't,"sequence":null']
    )
    body = rules.render(
        event_type=pick.choice(list(rules.EVENT_TYPES)),
        sequence=None,
        tenant_id=tenant,
        now=utcnow(),
        data=data,
    )
    number = pick.randrange(1, 10**12)
    assert rules.numbered(body, number) == parsed(body, number)
    assert json.loads(rules.numbered(body, number))["data"]["sequence"] == number


def test_a_body_in_another_shape_is_parsed() -> None:
    body = '{"type":"a","data":{"sequence":null,"tenantId":"t"}}'
    assert rules.numbered(body, 7) == parsed(body, 7)
