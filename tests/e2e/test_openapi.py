"""/openapi.json is valid, complete and true: each documented answer is provoked on a running
server, and the Power Automate connector made from it is valid OpenAPI 2.0 and in step."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator

from guestgate.web.openapi_bulk import BULK_ERRORS
from guestgate.web.openapi_events import EVENT_ERRORS
from guestgate.web.openapi_facts import ROUTE_ERRORS
from guestgate.web.openapi_lifecycle import LIFECYCLE_ERRORS
from guestgate.web.openapi_users import USER_ERRORS
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.e2e.guest import Guest, latest_code
from tests.e2e.openapi_applications import application_recipes
from tests.e2e.openapi_approvals import approval_recipes
from tests.e2e.openapi_bulk import bulk_recipes
from tests.e2e.openapi_events import event_recipes
from tests.e2e.openapi_lifecycle import lifecycle_recipes
from tests.e2e.openapi_policies import policy_recipes
from tests.e2e.server import ROOT, Caller, Server
from tests.e2e.smtp import SmtpSink
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
CONNECTOR = ROOT / "clients" / "power-automate"
GRAPH_READ = {"ConsistencyLevel": "eventual"}
# The routes whose answers web/openapi_facts.py (and openapi_events.py, openapi_bulk.py,
# openapi_lifecycle.py, openapi_users.py) state (all but the sign-in pages' routes).
KNOWN = {
    *ROUTE_ERRORS,
    *EVENT_ERRORS,
    *BULK_ERRORS,
    *LIFECYCLE_ERRORS,
    *USER_ERRORS,
    ("/healthz", "get"),
}
METRICS_TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("openapi")
    server = Server(
        workdir=workdir,
        database_url=f"sqlite:///{workdir}/guestgate.db",
        extra_env={
            "GUESTGATE_SMTP_URL": sink.url,
            "GUESTGATE_WEBHOOK_ALLOW_PRIVATE": "true",
            "GUESTGATE_METRICS_TOKEN": METRICS_TOKEN,
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """Answers the webhook and subscription recipes' deliveries and Graph's handshake."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    with server.client() as client:
        answer = client.get("/openapi.json")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if (path, method) in KNOWN
    ]


def test_document_is_valid_openapi_with_every_body_and_odata_option(
    document: dict[str, Any],
) -> None:
    validate(document)
    assert len(operations(document)) == len(KNOWN)
    for path, method, operation in operations(document):
        if method == "post":
            assert "requestBody" in operation, path
        if method in ("get", "delete"):
            assert not {"409", "413", "415"} & set(operation["responses"]), (method, path)
    invite = document["paths"]["/api/InviteGuest"]["post"]["requestBody"]["content"]
    schema = invite["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert document["components"]["schemas"][schema]["required"] == ["invitedUserEmailAddress"]
    assert invite["application/json"]["example"]["invitedUserEmailAddress"]
    names = {p["name"] for p in document["paths"]["/v1.0/users"]["get"]["parameters"]}
    assert {"$filter", "$select", "$top", "$count", "$search", "$orderby", "$skiptoken"} <= names
    assert "ConsistencyLevel" in names


class Probe:
    """Makes each documented answer happen, the way a client would run into it."""

    def __init__(self, server: Server, sink: SmtpSink, receiver_url: str = "") -> None:
        self.server = server
        self.sink = sink
        self.receiver_url = receiver_url
        self.caller = Caller.demo(server)
        tenant = self.caller.tenant
        self.reader = Caller.new_app(server, tenant, "User.Read.All")
        self.inviter = Caller.new_app(server, tenant, "User.Invite.All")
        self.creds = server.create_app(tenant, "probe", "User.Read.All")
        answer = self.caller.invite({"invitedUserEmailAddress": self.email()}).json()
        self.user_id, self.invitation_id = answer["id"], answer["invitationId"]
        self.revoked = self.caller.invite({"invitedUserEmailAddress": self.email()}).json()
        self.caller.request("POST", f"/api/invitations/{self.revoked['invitationId']}/revoke")

    @staticmethod
    def email() -> str:
        return f"probe.{uuid.uuid4().hex[:10]}@example.com"

    def anonymous(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.server.client() as client:
            return client.request(method, path, **kwargs)

    def completed_invitation(self) -> str:
        """An invitation its guest accepted, through the redemption pages."""
        email = self.email()
        answer = self.caller.invite({"invitedUserEmailAddress": email}).json()
        guest = Guest(self.server)
        guest.submit(guest.open(answer["inviteRedeemUrl"]), "/redeem/start")
        code_page = guest.http.get("/redeem/code")
        code = latest_code(self.sink, email, 1)
        guest.submit(code_page, "/redeem/verify", code=code)
        guest.submit(guest.http.get("/redeem/consent"), "/redeem/accept")
        guest.close()
        return str(answer["invitationId"])

    def token(self, **form: str) -> httpx.Response:
        return self.anonymous("POST", f"/{self.caller.tenant}/oauth2/v2.0/token", data=form)

    def too_many_failures(self) -> httpx.Response:
        client_id = str(uuid.uuid4())
        for _ in range(30):
            answer = self.token(
                grant_type="client_credentials",
                client_id=client_id,
                client_secret="wrong",
                scope="https://graph.microsoft.com/.default",
            )
            if answer.status_code == 429:
                break
        return answer

    def recipes(self) -> dict[tuple[str, str, int], Callable[[], httpx.Response]]:
        c, tenant = self.caller, self.caller.tenant
        invitation = f"/api/invitations/{self.invitation_id}"
        unknown = f"/api/invitations/{uuid.uuid4()}"
        big = {
            "content": b"{" + b" " * 70_000 + b"}",
            "headers": {"content-type": "application/json"},
        }
        text = {"content": b"hello", "headers": {"content-type": "text/plain"}}
        small_big = {
            "content": b"{" + b" " * 2_000 + b"}",
            "headers": {"content-type": "application/json"},
        }
        guest_body = {
            "invitedUserEmailAddress": self.email(),
            "inviteRedirectUrl": "https://a.example",
        }
        return {
            ("/healthz", "get", 200): lambda: self.anonymous("GET", "/healthz"),
            ("/readyz", "get", 200): lambda: self.anonymous("GET", "/readyz"),
            ("/metrics", "get", 200): lambda: self.anonymous(
                "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            ),
            ("/metrics", "get", 401): lambda: self.anonymous(
                "GET", "/metrics", headers={"Authorization": "Bearer not-the-metrics-token"}
            ),
            # 503: test_readyz_answers_503_when_the_database_is_gone, on PostgreSQL
            ("/{tenant}/v2.0/.well-known/openid-configuration", "get", 200): lambda: self.anonymous(
                "GET", f"/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            ("/{tenant}/v2.0/.well-known/openid-configuration", "get", 400): lambda: self.anonymous(
                "GET", "/no-such-tenant.example/v2.0/.well-known/openid-configuration"
            ),
            ("/{tenant}/discovery/v2.0/keys", "get", 200): lambda: self.anonymous(
                "GET", f"/{tenant}/discovery/v2.0/keys"
            ),
            ("/{tenant}/discovery/v2.0/keys", "get", 400): lambda: self.anonymous(
                "GET", "/no-such-tenant.example/discovery/v2.0/keys"
            ),
            ("/{tenant}/oauth2/v2.0/token", "post", 200): lambda: self.token(
                grant_type="client_credentials",
                client_id=self.creds["AppID"],
                client_secret=self.creds["AppSecret"],
                scope="https://graph.microsoft.com/.default",
            ),
            ("/{tenant}/oauth2/v2.0/token", "post", 400): lambda: self.token(grant_type="password"),
            ("/{tenant}/oauth2/v2.0/token", "post", 401): lambda: self.token(
                grant_type="client_credentials",
                client_id=self.creds["AppID"],
                client_secret="gg_wrong",
                scope="https://graph.microsoft.com/.default",
            ),
            ("/{tenant}/oauth2/v2.0/token", "post", 429): self.too_many_failures,
            ("/api/InviteGuest", "post", 201): lambda: c.invite(
                {"invitedUserEmailAddress": self.email()}
            ),
            ("/api/InviteGuest", "post", 400): lambda: c.invite(
                {"invitedUserEmailAddress": "nope"}
            ),
            ("/api/InviteGuest", "post", 401): lambda: self.anonymous(
                "POST", "/api/InviteGuest", json={}
            ),
            ("/api/InviteGuest", "post", 403): lambda: self.reader.invite(
                {"invitedUserEmailAddress": self.email()}
            ),
            ("/api/InviteGuest", "post", 413): lambda: c.request("POST", "/api/InviteGuest", **big),
            ("/api/InviteGuest", "post", 415): lambda: c.request(
                "POST", "/api/InviteGuest", **text
            ),
            ("/api/InviteGuests", "post", 200): lambda: c.request(
                "POST",
                "/api/InviteGuests",
                json={"invitations": [{"invitedUserEmailAddress": self.email()}]},
            ),
            ("/api/InviteGuests", "post", 400): lambda: c.request(
                "POST", "/api/InviteGuests", json={"invitations": []}
            ),
            ("/api/InviteGuests", "post", 401): lambda: self.anonymous(
                "POST", "/api/InviteGuests", json={}
            ),
            ("/api/InviteGuests", "post", 403): lambda: self.reader.request(
                "POST", "/api/InviteGuests", json={"invitations": []}
            ),
            ("/api/InviteGuests", "post", 413): lambda: c.request(
                "POST",
                "/api/InviteGuests",
                content=b"{" + b" " * 2_200_000 + b"}",
                headers=big["headers"],
            ),
            ("/api/InviteGuests", "post", 415): lambda: c.request(
                "POST", "/api/InviteGuests", **text
            ),
            ("/api/invitations", "get", 200): lambda: c.request("GET", "/api/invitations"),
            ("/api/invitations", "get", 400): lambda: c.request("GET", "/api/invitations?state=x"),
            ("/api/invitations", "get", 401): lambda: self.anonymous("GET", "/api/invitations"),
            ("/api/invitations", "get", 403): lambda: self.inviter.request(
                "GET", "/api/invitations"
            ),
            ("/api/invitations/{invitation_id}", "get", 200): lambda: c.request("GET", invitation),
            ("/api/invitations/{invitation_id}", "get", 400): lambda: c.request(
                "GET", f"{invitation}?state=x"
            ),
            ("/api/invitations/{invitation_id}", "get", 401): lambda: self.anonymous(
                "GET", invitation
            ),
            ("/api/invitations/{invitation_id}", "get", 403): lambda: self.inviter.request(
                "GET", invitation
            ),
            ("/api/invitations/{invitation_id}", "get", 404): lambda: c.request("GET", unknown),
            **{
                (f"/api/invitations/{{invitation_id}}/{action}", "post", status): recipe
                for action in ("resend", "revoke")
                for status, recipe in self.action_recipes(action, small_big).items()
            },
            ("/v1.0/users", "get", 200): lambda: c.request("GET", "/v1.0/users"),
            ("/v1.0/users", "get", 400): lambda: c.request(
                "GET", "/v1.0/users?$filter=manager eq 'x'"
            ),
            ("/v1.0/users", "get", 401): lambda: self.anonymous("GET", "/v1.0/users"),
            ("/v1.0/users", "get", 403): lambda: self.inviter.request("GET", "/v1.0/users"),
            ("/v1.0/users/$count", "get", 200): lambda: c.request(
                "GET", "/v1.0/users/$count", headers=GRAPH_READ
            ),
            ("/v1.0/users/$count", "get", 400): lambda: c.request("GET", "/v1.0/users/$count"),
            ("/v1.0/users/$count", "get", 401): lambda: self.anonymous("GET", "/v1.0/users/$count"),
            ("/v1.0/users/$count", "get", 403): lambda: self.inviter.request(
                "GET", "/v1.0/users/$count", headers=GRAPH_READ
            ),
            ("/v1.0/users/{user_ref}", "get", 200): lambda: c.request(
                "GET", f"/v1.0/users/{self.user_id}"
            ),
            ("/v1.0/users/{user_ref}", "get", 400): lambda: c.request(
                "GET", f"/v1.0/users/{self.user_id}?$select=manager"
            ),
            ("/v1.0/users/{user_ref}", "get", 401): lambda: self.anonymous(
                "GET", f"/v1.0/users/{self.user_id}"
            ),
            ("/v1.0/users/{user_ref}", "get", 403): lambda: self.inviter.request(
                "GET", f"/v1.0/users/{self.user_id}"
            ),
            ("/v1.0/users/{user_ref}", "get", 404): lambda: c.request(
                "GET", f"/v1.0/users/{uuid.uuid4()}"
            ),
            ("/v1.0/users/{user_ref}", "delete", 204): lambda: self.admin().request(
                "DELETE",
                f"/v1.0/users/{c.invite({'invitedUserEmailAddress': self.email()}).json()['id']}",
            ),
            ("/v1.0/users/{user_ref}", "delete", 401): lambda: self.anonymous(
                "DELETE", f"/v1.0/users/{self.user_id}"
            ),
            ("/v1.0/users/{user_ref}", "delete", 403): lambda: c.request(
                "DELETE", f"/v1.0/users/{self.user_id}"
            ),
            ("/v1.0/users/{user_ref}", "delete", 404): lambda: self.admin().request(
                "DELETE", f"/v1.0/users/{uuid.uuid4()}"
            ),
            ("/v1.0/invitations", "post", 201): lambda: c.request(
                "POST", "/v1.0/invitations", json=guest_body
            ),
            ("/v1.0/invitations", "post", 400): lambda: c.request(
                "POST", "/v1.0/invitations", json={"invitedUserEmailAddress": self.email()}
            ),
            ("/v1.0/invitations", "post", 401): lambda: self.anonymous(
                "POST", "/v1.0/invitations", json={}
            ),
            ("/v1.0/invitations", "post", 403): lambda: self.reader.request(
                "POST", "/v1.0/invitations", json=guest_body
            ),
            ("/v1.0/invitations", "post", 413): lambda: c.request(
                "POST", "/v1.0/invitations", **big
            ),
            ("/v1.0/invitations", "post", 415): lambda: c.request(
                "POST", "/v1.0/invitations", **text
            ),
            ("/v1.0/organization", "get", 200): lambda: c.request("GET", "/v1.0/organization"),
            ("/v1.0/organization", "get", 401): lambda: self.anonymous("GET", "/v1.0/organization"),
            **application_recipes(self.server, tenant, self.reader, self.anonymous),
            **event_recipes(self.server, tenant, self.reader, self.anonymous, self.receiver_url),
            **policy_recipes(self.server, tenant, self.reader, self.anonymous),
            **bulk_recipes(self.server, tenant, self.reader, self.anonymous),
            **approval_recipes(self.server, tenant),
            **lifecycle_recipes(self.server, self.anonymous),
        }

    def action_recipes(
        self, action: str, small_big: dict[str, Any]
    ) -> dict[int, Callable[[], httpx.Response]]:
        c = self.caller

        def fresh() -> str:
            return str(c.invite({"invitedUserEmailAddress": self.email()}).json()["invitationId"])

        def path(invitation_id: str) -> str:
            return f"/api/invitations/{invitation_id}/{action}"

        return {
            200: lambda: c.request("POST", path(fresh())),
            400: lambda: c.request("POST", f"{path(fresh())}?state=x"),
            401: lambda: self.anonymous("POST", path(self.invitation_id)),
            403: lambda: self.reader.request("POST", path(self.invitation_id)),
            404: lambda: c.request("POST", path(str(uuid.uuid4()))),
            409: lambda: c.request(
                "POST",
                path(
                    self.revoked["invitationId"]
                    if action == "resend"
                    else self.completed_invitation()
                ),
            ),
            413: lambda: c.request("POST", path(self.invitation_id), **small_big),
        }

    def admin(self) -> Caller:
        return Caller.new_app(self.server, self.caller.tenant, "User.ReadWrite.All")


def test_every_documented_answer_is_what_the_route_answers(
    server: Server, sink: SmtpSink, document: dict[str, Any], receiver: Receiver
) -> None:
    probe = Probe(server, sink, receiver.url)
    recipes = probe.recipes()
    documented = {
        (path, method, int(code)): answer
        for path, method, operation in operations(document)
        for code, answer in operation["responses"].items()
    }
    missing = sorted(set(documented) - set(recipes) - {("/readyz", "get", 503)})
    assert missing == [], f"documented answers with no test here: {missing}"
    assert sorted(set(recipes) - set(documented)) == []  # each recipe's answer is documented
    for (path, method, status), recipe in sorted(recipes.items()):
        answer = recipe()
        assert answer.status_code == status, (path, method, status, answer.text[:300])
        example = documented[path, method, status].get("content", {}).get("application/json", {})
        shown = example.get("example")
        if status >= 400 and isinstance(shown, dict):
            body = answer.json()
            if "error" in shown and isinstance(shown["error"], dict):
                assert body["error"]["code"] == shown["error"]["code"], (path, method, status)
            elif "error_codes" in shown:
                assert body["error"] == shown["error"], (path, method, status)
                assert body["error_codes"] == shown["error_codes"], (path, method, status)
            else:
                assert body == shown, (path, method, status)


@pytest.mark.postgres
def test_readyz_answers_503_when_the_database_is_gone(
    tmp_path: Path, postgres_url_factory: Callable[[], str]
) -> None:
    url = create_postgres_database()
    server = Server(workdir=tmp_path, database_url=url, demo=False)
    try:
        server.start()
        drop_postgres_database(url)
        deadline = time.monotonic() + 20
        with server.client() as client:
            while True:
                answer = client.get("/readyz")
                if answer.status_code != 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            documented = client.get("/openapi.json").json()["paths"]["/readyz"]["get"]
    finally:
        server.stop()
        drop_postgres_database(url)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    example = documented["responses"]["503"]["content"]["application/json"]["example"]
    assert answer.json() == example


def test_power_automate_connector_is_made_from_the_live_document_and_valid(
    server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "connector"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "power_automate_connector.py"),
            "--from",
            server.base_url,
            "--public-url",
            "http://127.0.0.1:8365",
            "--tenant",
            "contoso.example",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    definition = json.loads((out / "apiDefinition.swagger.json").read_text())
    validate(definition, cls=OpenAPIV2SpecValidator)
    security = definition["securityDefinitions"]["oauth2_client_credentials"]
    assert security == {
        **security,
        "type": "oauth2",
        "flow": "application",
        "tokenUrl": "http://127.0.0.1:8365/contoso.example/oauth2/v2.0/token",
    }
    invite = definition["paths"]["/api/InviteGuest"]["post"]
    assert invite["operationId"] == "InviteGuest"
    body = definition["definitions"]["InviteGuestBody"]["properties"]
    assert body["invitedUserEmailAddress"]["x-ms-summary"] == "Invited user email address"
    resend = definition["paths"]["/api/invitations/{invitation_id}/resend"]["post"]
    assert resend["parameters"][0]["x-ms-summary"] == "Invitation id"
    properties = json.loads((out / "apiProperties.json").read_text())
    assert properties["properties"]["connectionParameters"]["token"]["type"] == "oauthSetting"
    # What clients/power-automate ships is exactly what the command makes.
    for name in ("apiDefinition.swagger.json", "apiProperties.json"):
        assert (out / name).read_text() == (CONNECTOR / name).read_text(), name


def test_graph_mode_document_is_valid_and_lists_only_the_routes_it_serves(
    tmp_path: Path,
) -> None:
    server = Server(
        workdir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/guestgate.db",
        demo=False,
        extra_env={"GUESTGATE_DIRECTORY": "graph", "GUESTGATE_GRAPH_URL": "http://127.0.0.1:9"},
    )
    try:
        server.start()
        with server.client() as client:
            document = client.get("/openapi.json").json()
            docs = client.get("/docs")
    finally:
        server.stop()
    validate(document)
    paths = set(document["paths"])
    assert "/api/InviteGuest" in paths
    assert not {p for p in paths if p.startswith(("/v1.0/", "/{tenant}/"))}
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
