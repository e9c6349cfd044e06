"""`GET /api/reports/...` on a running server, on SQLite and PostgreSQL: JSON and CSV that agree
with the invitations the test made, AuditLog.Read.All, a 400 naming each bad parameter, and
the answers /openapi.json states for the routes (each provoked here)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from guestgate.web.openapi_reports import REPORT_ERRORS
from tests.e2e.guest import Guest, latest_code
from tests.e2e.server import Caller, Server
from tests.e2e.smtp import SmtpSink

pytestmark = pytest.mark.e2e
ROUTES = ["summary", "requesters", "domains", "pending", "sign-ins"]
REQUESTER = "rita.reports@contoso.example"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp(f"reports-{request.param}")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    running = Server(workdir=workdir, database_url=url, extra_env={"GUESTGATE_SMTP_URL": sink.url})
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def seeded(server: Server, sink: SmtpSink) -> dict[str, Any]:
    """Five invitations: one accepted through the pages, one revoked, three pending."""
    caller = Caller.demo(server)
    domain = f"r{uuid.uuid4().hex[:8]}.example"  # this server's guests' domain
    made = []
    for n in range(5):
        email = f"guest{n}@{domain}"
        body: dict[str, Any] = {"invitedUserEmailAddress": email, "sendInvitationMessage": n == 0}
        if n % 2 == 0:
            body["requestedBy"] = REQUESTER
        answer = caller.invite(body)
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    guest = Guest(server)
    link = made[0]["inviteRedeemUrl"]
    guest.submit(guest.open(link), "/redeem/start")
    code_page = guest.http.get("/redeem/code")
    guest.submit(code_page, "/redeem/verify", code=latest_code(sink, "guest0@" + domain, 1))
    guest.submit(guest.http.get("/redeem/consent"), "/redeem/accept")
    guest.close()
    revoked = caller.request("POST", f"/api/invitations/{made[1]['invitationId']}/revoke")
    assert revoked.status_code == 200, revoked.text
    auditor = Caller.new_app(server, caller.tenant, "AuditLog.Read.All")
    return {"caller": auditor, "made": made, "domain": domain}


def _get(caller: Caller, route: str, **kwargs: Any) -> httpx.Response:
    return caller.request("GET", f"/api/reports/{route}", **kwargs)


def _rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_summary_counts_the_invitations_made(seeded: dict[str, Any]) -> None:
    caller: Caller = seeded["caller"]
    answer = _get(caller, "summary")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["invited"] == 5
    assert found["accepted"] == 1
    assert found["acceptanceRate"] == 0.2
    assert found["byState"] == {
        "PendingAcceptance": 3,
        "Expired": 0,
        "Completed": 1,
        "Declined": 0,
        "Revoked": 1,
    }
    waits = found["timeToAccept"]
    assert waits["p50Seconds"] == waits["p90Seconds"] > 0
    [row] = _rows(_get(caller, "summary", params={"format": "csv"}))
    assert row["invited"] == "5"
    assert row["acceptanceRate"] == "0.2"
    assert row["Revoked"] == "1"
    assert float(row["p50Seconds"]) == waits["p50Seconds"]
    [again] = _rows(_get(caller, "summary", headers={"Accept": "text/csv"}))
    assert {k: v for k, v in again.items() if k not in ("from", "to")} == {
        k: v for k, v in row.items() if k not in ("from", "to")
    }
    earlier = _get(caller, "summary", params={"from": "2024-01-01", "to": "2025-01-01"}).json()
    assert earlier["invited"] == 0
    assert earlier["acceptanceRate"] is None


def test_requesters_and_domains_as_json_and_csv(seeded: dict[str, Any]) -> None:
    caller: Caller = seeded["caller"]
    found = _get(caller, "requesters", params={"bucket": "week"}).json()
    assert found["bucket"] == "week"
    assert found["total"] == 5
    by_name = {s["requester"]: s for s in found["series"]}
    assert by_name[REQUESTER]["total"] == 3
    assert by_name[None]["total"] == 2  # the invitations that name no requester
    assert all(len(s["counts"]) == len(found["buckets"]) for s in found["series"])
    rows = _rows(_get(caller, "requesters", params={"format": "csv", "bucket": "week"}))
    assert sum(int(r["invitations"]) for r in rows if r["requester"] == REQUESTER) == 3
    assert sum(int(r["invitations"]) for r in rows if r["requester"] == "(none)") == 2
    domains = _get(caller, "domains", params={"top": "1"}).json()
    assert [(s["domain"], s["total"], s["others"]) for s in domains["series"]] == [
        (seeded["domain"], 5, False)
    ]
    rows = _rows(_get(caller, "domains", headers={"Accept": "text/csv"}))
    assert list(rows[0]) == ["day", "domain", "invitations"]
    assert sum(int(r["invitations"]) for r in rows) == 5


def test_pending_pages_by_keyset_in_json_and_csv(seeded: dict[str, Any]) -> None:
    caller: Caller = seeded["caller"]
    pending_ids = {m["invitationId"] for m in seeded["made"][2:]}
    first = _get(caller, "pending", params={"days": "0", "top": "2"}).json()
    assert (first["total"], first["expired"], first["days"]) == (3, 0, 0)
    assert len(first["value"]) == 2
    assert first["next"] is not None
    second = _get(caller, first["next"].split("/api/reports/", 1)[1]).json()
    assert second["next"] is None
    assert {v["invitationId"] for v in first["value"] + second["value"]} == pending_ids
    assert all(v["requestedBy"] in (REQUESTER, None) for v in second["value"])
    answer = _get(caller, "pending", params={"days": "0", "top": "2", "format": "csv"})
    rows = _rows(answer)
    assert [r["invitationId"] for r in rows] == [v["invitationId"] for v in first["value"]]
    assert answer.headers["x-total-count"] == "3"
    assert 'rel="next"' in answer.headers["link"]
    assert _get(caller, "pending").json()["total"] == 0  # none older than 30 days


def test_sign_ins_in_gt365_categories(seeded: dict[str, Any]) -> None:
    caller: Caller = seeded["caller"]
    found = _get(caller, "sign-ins").json()
    categories = [v["category"] for v in found["value"]]
    assert categories == [
        "0 (No Login)",
        "1 (0-30 days)",
        "2 (30-90 days)",
        "3 (90-180 days)",
        "4 (>180 days)",
    ]
    assert found["total"] == sum(v["guests"] for v in found["value"]) == 5
    rows = _rows(_get(caller, "sign-ins", params={"format": "csv"}))
    assert [r["category"] for r in rows] == categories


@pytest.mark.parametrize(
    ("route", "params", "name"),
    [
        ("summary", {"from": "last week"}, "from"),
        ("summary", {"to": "2026-02-30"}, "to"),
        ("summary", {"from": "2026-05-01T00:00:00"}, "from"),
        ("summary", {"from": "2026-05-01", "to": "2026-04-01"}, "from"),
        ("summary", {"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ("summary", {"format": "xml"}, "format"),
        ("requesters", {"bucket": "month"}, "bucket"),
        ("requesters", {"top": "0"}, "top"),
        ("domains", {"top": "51"}, "top"),
        ("domains", {"top": "1e3"}, "top"),
        ("pending", {"days": "-1"}, "days"),
        ("pending", {"top": "501"}, "top"),
        ("pending", {"after": "not-a-token"}, "after"),
        ("pending", {"from": "x" * 300}, None),  # not a parameter of this route
        ("sign-ins", {"from": "2026-01-01"}, None),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    seeded: dict[str, Any], route: str, params: dict[str, str], name: str | None
) -> None:
    answer = _get(seeded["caller"], route, params=params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    if name is None:
        assert body["error"]["code"] == "UnknownQueryParameter"
    else:
        assert body["error"]["code"] == "InvalidReportParameter"
        assert body["message"].startswith(f"{name}: ")


def test_a_report_needs_audit_log_read_all(server: Server, seeded: dict[str, Any]) -> None:
    caller: Caller = seeded["caller"]
    reader = Caller.new_app(server, caller.tenant, "User.Read.All", "User.Invite.All")
    with server.client() as client:
        for route in ROUTES:
            refused = _get(reader, route)
            assert refused.status_code == 403, route
            assert refused.json()["error"]["code"] == "Authorization_RequestDenied"
            assert "AuditLog.Read.All" in refused.json()["message"]
            assert client.get(f"/api/reports/{route}").status_code == 401
            assert _get(caller, route).status_code == 200, route


def test_openapi_states_the_report_routes_and_their_answers(
    server: Server, seeded: dict[str, Any]
) -> None:
    with server.client() as client:
        document = client.get("/openapi.json").json()
    caller: Caller = seeded["caller"]
    reader = Caller.new_app(server, caller.tenant, "User.Read.All")
    for (path, method), errors in REPORT_ERRORS.items():
        operation = document["paths"][path][method]
        assert set(operation["responses"]) == {"200", *map(str, errors)}, path
        assert "text/csv" in operation["responses"]["200"]["content"]
        assert "format" in {p["name"] for p in operation["parameters"]}
        route = path.rsplit("/", 1)[1]
        provoked = {
            400: _get(caller, route, params={"format": "xml"}),
            401: httpx.get(f"{server.base_url}{path}", verify=False),
            403: _get(reader, route),
        }
        for status, (_, example) in errors.items():
            assert provoked[status].status_code == status, (path, status)
            code = provoked[status].json()["error"]["code"]
            assert code == example["error"]["code"] or status == 400, (path, status, code)
        assert provoked[400].json()["error"]["code"] == "InvalidReportParameter"


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_reports_never_fail_and_answer_as_documented(
    server: Server, seeded: dict[str, Any], mode: str
) -> None:
    """schemathesis on the report routes with a token that may read them: generated values
    for every parameter, valid and invalid, are answered as /openapi.json says, never 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    caller: Caller = seeded["caller"]
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    schema.config.generation.update(allow_extra_parameters=True)
    found = [r.ok() for r in schema.include(path_regex=r"^/api/reports/").get_all_operations()]
    assert len(found) == len(ROUTES)
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    for operation in found:

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(
            max_examples=25,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            # A generated query value of None or [] is not sent at all: such a "negative"
            # case reaches the server as a valid request, which rightly answers 200.
            assume(all(v is not None and v != [] for v in (case.query or {}).values()))
            case.call_and_validate(
                base_url=server.base_url,
                headers=caller.headers,
                excluded_checks=[positive_data_acceptance],
            )

        try:
            check()
        except Unsatisfiable:
            assert generation is GenerationMode.NEGATIVE
