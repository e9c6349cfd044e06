"""The OData feed of GT365's Power BI tables, read by an OData V4 client library (python-odata)
over HTTP on SQLite and PostgreSQL: $metadata, both tables, paging, $select, $filter, $count,
tenant isolation, bad input and permissions."""

from __future__ import annotations

import base64
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests
from odata import ODataService
from odata.exceptions import ODataError
from requests.auth import AuthBase, HTTPBasicAuth

from tests.e2e.server import Caller, Server
from tests.leaks import REGISTRY

pytestmark = pytest.mark.e2e

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
# GT365's template, expanded from Content (../shared/reference/gt365-powerbi.md).
INVITED_COLUMNS = (
    "InviteRedirectUrl",
    "InvitedUserDisplayName",
    "InvitedUserEmailAddress",
    "RequestedBy",
    "SendInvitationMessage",
)
USER_COLUMNS = [
    "AccountEnabled",
    "City",
    "CompanyName",
    "Country",
    "CreatedDateTime",
    "Department",
    "DisplayName",
    "EmployeeId",
    "GivenName",
    "HasLicenseAssigned",
    "Id",
    "JobTitle",
    "LastLoginDate",
    "Mail",
    "MailNickname",
    "OU",
    "ShowInAddressList",
    "Surname",
    "UsageLocation",
    "UserPrincipalName",
    "UserType",
    "ExternalUserState",
    "ExternalUserStateChangeDateTime",
    "SignInSessionsValidFromDateTime",
]
KEYS = ("PartitionKey", "RowKey", "Timestamp")
GUESTS = 7
READ_AUDIT = "AuditLog.Read.All"


class BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class Tenant:
    """A tenant of the server with an inviting app and a reporting app (AuditLog.Read.All)."""

    def __init__(self, server: Server, name: str, domain: str) -> None:
        created = server.cli("tenant", "create", "--name", name, "--domain", domain, "--json")
        assert created.returncode == 0, created.stderr
        self.server = server
        self.domain = domain
        self.inviter = Caller.new_app(server, domain, "User.Invite.All")
        self.reader = server.create_app(domain, "Power BI", READ_AUDIT)
        REGISTRY.secret(self.reader["AppSecret"], "client secret")
        self.tenant_id = self.reader["TenantID"]

    @property
    def basic(self) -> HTTPBasicAuth:
        return HTTPBasicAuth(self.reader["AppID"], self.reader["AppSecret"])

    def service(self, session: requests.Session | None = None) -> ODataService:
        return ODataService(
            f"{self.server.base_url}/odata/",
            reflect_entities=True,
            auth=self.basic,
            session=session,
            quiet_progress=True,
        )


def database_url(request: pytest.FixtureRequest, workdir: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{workdir}/guestgate.db"
    return str(request.getfixturevalue("postgres_url_factory")())


def execute(url: str, sql: str, params: tuple[Any, ...]) -> None:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql, params)
        return
    with psycopg.connect(url) as pg:
        pg.execute(sql.replace("?", "%s").encode(), params)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("odatafeed")
    server = Server(workdir=workdir, database_url=database_url(request, workdir)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def northwind(server: Server) -> Tenant:
    """Seven guests (two with a sign-in), one member; every invite with a requester."""
    tenant = Tenant(server, "Northwind", "northwind.example")
    for i in range(GUESTS):
        answer = tenant.inviter.invite(
            {
                "invitedUserEmailAddress": f"guest{i}@partner.example",
                "inviteRedirectUrl": f"https://apps.northwind.example/{i}",
                "invitedUserDisplayName": f"Guest {i}",
                "requestedBy": "owner@northwind.example",
                "sendInvitationMessage": i % 2 == 0,
            }
        )
        assert answer.status_code == 201, answer.text
    member = server.cli(
        "user", "create", "--tenant", tenant.domain, "--email", "ana@northwind.example",
        "--name", "Ana Member",
    )  # fmt: skip
    assert member.returncode == 0, member.stderr
    users = requests.get(
        f"{server.base_url}/odata/users",
        params={"$filter": "Content/Mail in ('guest1@partner.example','guest4@partner.example')"},
        auth=tenant.basic,
        timeout=15,
    ).json()["value"]
    for row, stamp in zip(
        sorted(users, key=lambda r: r["Content"]["Mail"]),
        ("2026-03-01T08:00:00.000000Z", "2026-05-01T09:30:00.000000Z"),
        strict=True,
    ):
        execute(
            server.database_url,
            "INSERT INTO sign_in_activity (user_id, last_sign_in_at, last_successful_sign_in_at)"
            " VALUES (?, ?, ?)",
            (row["RowKey"], stamp, stamp),
        )
    return tenant


@pytest.fixture(scope="module")
def fabrikam(server: Server) -> Tenant:
    tenant = Tenant(server, "Fabrikam", "fabrikam.example")
    for i in range(3):
        answer = tenant.inviter.invite({"invitedUserEmailAddress": f"fab{i}@elsewhere.example"})
        assert answer.status_code == 201, answer.text
    return tenant


def get(server: Server, path: str, auth: Any = None, **kwargs: Any) -> requests.Response:
    return requests.get(f"{server.base_url}{path}", auth=auth, timeout=15, **kwargs)


def test_metadata_parses_and_names_every_column_of_the_template(
    server: Server, northwind: Tenant
) -> None:
    answer = get(server, "/odata/$metadata", northwind.basic)
    assert answer.status_code == 200
    assert answer.headers["OData-Version"] == "4.0"
    assert answer.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    schema = root.find(f".//{EDM}Schema")
    assert schema is not None
    complex_types = {
        t.get("Name"): [p.get("Name") for p in t.findall(f"{EDM}Property")]
        for t in schema.findall(f"{EDM}ComplexType")
    }
    entity_types = {
        t.get("Name"): {p.get("Name"): p.get("Type") for p in t.findall(f"{EDM}Property")}
        for t in schema.findall(f"{EDM}EntityType")
    }
    sets = {s.get("Name"): s.get("EntityType") for s in schema.iter(f"{EDM}EntitySet")}
    assert sets == {
        "invitedusers": "guestgate.powerbi.InvitedUser",
        "users": "guestgate.powerbi.User",
    }
    for entity, content, columns in (
        ("InvitedUser", "InvitedUserContent", INVITED_COLUMNS),
        ("User", "UserContent", USER_COLUMNS),
    ):
        assert list(entity_types[entity]) == [*KEYS, "Content"]
        assert entity_types[entity]["Content"] == f"guestgate.powerbi.{content}"
        assert entity_types[entity]["Timestamp"] == "Edm.DateTimeOffset"
        assert sorted(complex_types[content]) == sorted(columns)


def test_the_client_library_reads_both_tables_with_the_template_columns(
    northwind: Tenant,
) -> None:
    service = northwind.service()
    invited = list(service.query(service.entities["invitedusers"]))
    assert len(invited) == GUESTS
    by_mail = {row.Content["InvitedUserEmailAddress"]: row for row in invited}
    first = by_mail["guest0@partner.example"]
    assert first.PartitionKey == northwind.tenant_id
    assert first.Timestamp is not None
    assert first.Content == {
        "InviteRedirectUrl": "https://apps.northwind.example/0",
        "InvitedUserDisplayName": "Guest 0",
        "InvitedUserEmailAddress": "guest0@partner.example",
        "RequestedBy": "owner@northwind.example",
        "SendInvitationMessage": True,
    }
    assert by_mail["guest1@partner.example"].Content["SendInvitationMessage"] is False
    stamps = [row.Timestamp for row in invited]
    assert stamps == sorted(stamps)  # oldest first, the order the feed pages in

    users = list(service.query(service.entities["users"]))
    assert len(users) == GUESTS + 1
    for row in users:
        assert sorted(row.Content) == sorted(USER_COLUMNS)
    mails = {row.Content["Mail"]: row.Content for row in users}
    ana = mails["ana@northwind.example"]
    assert (ana["UserType"], ana["DisplayName"], ana["ExternalUserState"]) == (
        "Member",
        "Ana Member",
        None,
    )
    guest = mails["guest1@partner.example"]
    assert guest["UserType"] == "Guest"
    assert guest["ExternalUserState"] == "PendingAcceptance"
    assert guest["LastLoginDate"] == "2026-03-01T08:00:00.000000Z"
    assert guest["AccountEnabled"] is True
    assert guest["UserPrincipalName"].endswith("#EXT#@northwind.example")
    assert guest["MailNickname"] == guest["UserPrincipalName"].split("@")[0]
    assert guest["City"] is None
    assert guest["HasLicenseAssigned"] is None
    assert mails["guest0@partner.example"]["LastLoginDate"] is None


def test_a_bearer_token_with_audit_log_read_reads_the_feed(
    server: Server, northwind: Tenant
) -> None:
    caller = Caller(
        server, northwind.tenant_id, northwind.reader["AppID"], northwind.reader["AppSecret"]
    )
    service = ODataService(
        f"{server.base_url}/odata/",
        reflect_entities=True,
        auth=BearerAuth(caller.token),
        quiet_progress=True,
    )
    assert service.query(service.entities["invitedusers"]).count() == GUESTS


def test_server_paging_follows_next_links_without_gaps(server: Server, northwind: Tenant) -> None:
    session = requests.Session()
    session.headers["Prefer"] = "odata.maxpagesize=2"
    service = northwind.service(session)
    rows = list(service.query(service.entities["users"]))
    assert len(rows) == GUESTS + 1
    assert len({row.RowKey for row in rows}) == GUESTS + 1

    first = session.get(f"{server.base_url}/odata/users", auth=northwind.basic, timeout=15)
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    page = first.json()
    assert len(page["value"]) == 2
    link = urlsplit(page["@odata.nextLink"])
    assert link.path == "/odata/users"
    assert set(parse_qs(link.query)) == {"$skiptoken"}
    pages = 1
    while "@odata.nextLink" in page:
        page = session.get(page["@odata.nextLink"], auth=northwind.basic, timeout=15).json()
        pages += 1
    assert pages == 4  # 8 rows, 2 a page


def test_top_and_skip(server: Server, northwind: Tenant) -> None:
    service = northwind.service()
    entity = service.entities["invitedusers"]
    everything = [row.RowKey for row in service.query(entity)]
    window = [row.RowKey for row in service.query(entity).offset(2).limit(3)]
    assert window == everything[2:5]
    assert list(service.query(entity).limit(0)) == []
    # $top larger than a page: the next link carries what is still wanted.
    answer = get(
        server,
        "/odata/invitedusers",
        northwind.basic,
        params={"$top": "5", "$skip": "1"},
        headers={"Prefer": "odata.maxpagesize=3"},
    ).json()
    assert [r["RowKey"] for r in answer["value"]] == everything[1:4]
    rest = requests.get(answer["@odata.nextLink"], auth=northwind.basic, timeout=15).json()
    assert [r["RowKey"] for r in rest["value"]] == everything[4:6]
    assert "@odata.nextLink" not in rest


def test_select_keeps_only_the_chosen_properties(server: Server, northwind: Tenant) -> None:
    service = northwind.service()
    entity = service.entities["users"]
    rows = list(service.query(entity).select(entity.RowKey, entity.Timestamp))
    assert len(rows) == GUESTS + 1
    assert all(set(row) == {"RowKey", "Timestamp"} for row in rows)
    answer = get(
        server,
        "/odata/users",
        northwind.basic,
        params={"$select": "PartitionKey,Content/Mail,Content/LastLoginDate"},
    ).json()
    assert answer["@odata.context"].endswith(
        "/odata/$metadata#users(PartitionKey,Content/Mail,Content/LastLoginDate)"
    )
    assert all(
        set(row) == {"PartitionKey", "Content"} and set(row["Content"]) == {"Mail", "LastLoginDate"}
        for row in answer["value"]
    )


def test_filter_and_count(server: Server, northwind: Tenant) -> None:
    service = northwind.service()
    users = service.entities["users"]
    invited = service.entities["invitedusers"]
    guests = service.query(users).filter("Content/UserType eq 'Guest'")
    assert guests.count() == GUESTS
    assert {row.Content["UserType"] for row in guests} == {"Guest"}
    never = service.query(users).filter("Content/LastLoginDate eq null")
    assert never.count() == GUESTS + 1 - 2
    signed_in = service.query(users).filter("Content/LastLoginDate ge 2026-04-01T00:00:00Z")
    assert [row.Content["Mail"] for row in signed_in] == ["guest4@partner.example"]
    sent = service.query(invited).filter("Content/SendInvitationMessage eq true")
    assert sent.count() == 4  # guests 0, 2, 4, 6
    some = next(iter(service.query(invited)))
    by_key = list(service.query(invited).filter(invited.RowKey == some.RowKey))  # an expression
    assert [row.RowKey for row in by_key] == [some.RowKey]
    prefixed = service.query(invited).filter(
        "startswith(Content/InviteRedirectUrl,'https://apps.northwind.example/1')"
        " or Content/InvitedUserDisplayName eq 'Guest 6'"
    )
    assert sorted(r.Content["InvitedUserDisplayName"] for r in prefixed) == ["Guest 1", "Guest 6"]
    # OData's eq is case-sensitive, the same on both databases.
    assert (
        service.query(invited).filter("Content/RequestedBy eq 'OWNER@northwind.example'").count()
        == 0
    )
    counted = get(
        server,
        "/odata/invitedusers",
        northwind.basic,
        params={
            "$count": "true",
            "$top": "1",
            "$filter": "Content/RequestedBy eq 'owner@northwind.example'",
        },
    ).json()
    assert counted["@odata.count"] == GUESTS
    assert len(counted["value"]) == 1


def test_a_tenant_sees_only_its_own_rows(
    server: Server, northwind: Tenant, fabrikam: Tenant
) -> None:
    service = fabrikam.service()
    invited = list(service.query(service.entities["invitedusers"]))
    assert sorted(r.Content["InvitedUserEmailAddress"] for r in invited) == [
        f"fab{i}@elsewhere.example" for i in range(3)
    ]
    users = list(service.query(service.entities["users"]))
    assert {r.PartitionKey for r in [*invited, *users]} == {fabrikam.tenant_id}
    # Naming the other tenant in a filter finds nothing.
    other = service.query(service.entities["users"]).filter(
        f"PartitionKey eq '{northwind.tenant_id}'"
    )
    assert other.count() == 0
    # A paging token of one tenant is no good to another.
    page = get(
        server, "/odata/users", northwind.basic, headers={"Prefer": "odata.maxpagesize=1"}
    ).json()
    token = parse_qs(urlsplit(page["@odata.nextLink"]).query)["$skiptoken"][0]
    stolen = get(server, "/odata/users", fabrikam.basic, params={"$skiptoken": token})
    assert stolen.status_code == 400
    assert stolen.json()["error"]["code"] == "InvalidSkipToken"


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("/odata/users", {"$top": "-1"}, "$top"),
        ("/odata/users", {"$top": "ten"}, "$top"),
        ("/odata/users", {"$skip": "99999999999"}, "$skip"),
        ("/odata/users", {"$count": "yes"}, "$count"),
        ("/odata/users", {"$select": "Content/Nope"}, "Content/Nope"),
        ("/odata/users", {"$select": "Password"}, "Password"),
        ("/odata/users", {"$filter": "Content/City eq 'Graz'"}, "Content/City"),
        ("/odata/users", {"$filter": "Content/Mail gt 'a'"}, "gt"),
        ("/odata/users", {"$filter": "Content/UserType eq 'Robot'"}, "Robot"),
        ("/odata/users", {"$filter": "Content/Mail eq"}, "ends too early"),
        ("/odata/users", {"$filter": "x" * 3000}, "longer than"),
        ("/odata/users", {"$orderby": "Timestamp desc"}, "$orderby"),
        ("/odata/users", {"$expand": "Content"}, "$expand"),
        ("/odata/users", {"$format": "xml"}, "$format"),
        ("/odata/users", {"$skiptoken": "forged.token"}, "paging token"),
        ("/odata/users", {"$bogus": "1"}, "$bogus"),
        ("/odata/invitedusers", {"client_secret": "gg_x"}, "Authorization header"),
        ("/odata/users/$count", {"$filter": "Timestamp gt 'yesterday'"}, "Timestamp"),
    ],
)
def test_bad_query_options_get_400_with_an_odata_error(
    server: Server, northwind: Tenant, path: str, params: dict[str, str], needle: str
) -> None:
    answer = get(server, path, northwind.basic, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["OData-Version"] == "4.0"
    error = answer.json()["error"]
    assert error["code"]
    assert needle in error["message"]


def test_an_unknown_entity_set_is_404(server: Server, northwind: Tenant) -> None:
    answer = get(server, "/odata/teams", northwind.basic)
    assert answer.status_code == 404
    assert "invitedusers, users" in answer.json()["error"]["message"]


def test_the_feed_needs_audit_log_read_and_valid_credentials(
    server: Server, northwind: Tenant
) -> None:
    anonymous = get(server, "/odata/invitedusers")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    wrong = get(server, "/odata/", HTTPBasicAuth(northwind.reader["AppID"], "gg_not-the-secret"))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationToken"
    unknown = get(server, "/odata/", HTTPBasicAuth("00000000-0000-0000-0000-000000000001", "x"))
    assert unknown.status_code == 401
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
    garbled = get(server, "/odata/", headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 401
    inviter = server.create_app(northwind.domain, "inviter", "User.Invite.All", "User.Read.All")
    REGISTRY.secret(inviter["AppSecret"], "client secret")
    basic = get(server, "/odata/users", HTTPBasicAuth(inviter["AppID"], inviter["AppSecret"]))
    assert basic.status_code == 403
    assert "AuditLog.Read.All" in basic.json()["error"]["message"]
    bearer = get(server, "/odata/users", BearerAuth(northwind.inviter.token))
    assert bearer.status_code == 403
    entity = northwind.service().entities["users"]
    refused = ODataService(
        f"{server.base_url}/odata/", auth=BearerAuth(northwind.inviter.token), quiet_progress=True
    )
    with pytest.raises(ODataError) as raised:
        list(refused.query(entity))
    assert raised.value.status_code == "HTTP 403"
    assert "gg_not-the-secret" not in server.logs()


def test_basic_failures_are_throttled_with_the_token_endpoint(server: Server) -> None:
    tenant = Tenant(server, "Throttled", "throttled.example")
    wrong = HTTPBasicAuth(tenant.reader["AppID"], "gg_wrong")
    statuses = [get(server, "/odata/", wrong).status_code for _ in range(15)]
    assert statuses[0] == 401
    assert 429 in statuses
    throttled = get(server, "/odata/", wrong)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0


def test_service_document_lists_both_sets(server: Server, northwind: Tenant) -> None:
    header = (
        "Basic "
        + base64.b64encode(
            f"{northwind.reader['AppID']}:{northwind.reader['AppSecret']}".encode()
        ).decode()
    )
    answer = get(server, "/odata/", headers={"Authorization": header})
    assert answer.status_code == 200
    body = answer.json()
    assert body["@odata.context"] == f"{server.base_url}/odata/$metadata"
    assert [s["url"] for s in body["value"]] == ["invitedusers", "users"]
