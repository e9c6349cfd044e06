"""A small Graph stand-in that injects faults: 429 with Retry-After, 503, stalls.

Only for the resilience tests of graph mode; the happy path is tested against a real
local-mode guestgate instead. It keeps just enough state (users by mail) to tell whether a
stalled create landed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.e2e.server import free_port

TENANT = "11111111-2222-3333-4444-555555555555"


@dataclass
class FakeGraph:
    port: int = field(default_factory=free_port)
    script: list[str] = field(default_factory=list)  # next behaviours of POST /invitations
    posts: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # mail -> id
    lookups: int = 0
    stall_seconds: float = 3.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeGraph:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def reply(
                self, status: int, body: Any = None, headers: dict[str, str] | None = None
            ) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/v1.0/organization":
                    self.reply(200, {"value": [{"id": TENANT, "displayName": "Fault Inc"}]})
                elif url.path == "/v1.0/users":
                    wanted = parse_qs(url.query).get("$filter", [""])[0]
                    with fake.lock:
                        fake.lookups += 1
                        found = [{"id": i} for m, i in fake.users.items() if f"'{m}'" in wanted]
                    self.reply(200, {"value": found})
                else:
                    self.reply(
                        404, {"error": {"code": "Request_ResourceNotFound", "message": "no"}}
                    )

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with fake.lock:
                    fake.posts.append((time.monotonic(), body))
                    behaviour = fake.script.pop(0) if fake.script else "ok"
                if behaviour.startswith("429"):
                    self.reply(
                        429,
                        {"error": {"code": "TooManyRequests", "message": "slow down"}},
                        {"Retry-After": behaviour.split(":")[1] if ":" in behaviour else "1"},
                    )
                    return
                if behaviour in ("503", "504", "500"):
                    self.reply(
                        int(behaviour), {"error": {"code": "ServiceUnavailable", "message": "down"}}
                    )
                    return
                if behaviour == "400":
                    self.reply(400, {"error": {"code": "BadRequest", "message": "Graph says no."}})
                    return
                mail = body["invitedUserEmailAddress"].lower()
                with fake.lock:
                    user_id = fake.users.setdefault(mail, str(uuid.uuid4()))
                if behaviour == "stall":
                    time.sleep(fake.stall_seconds)  # the create landed; the answer comes too late
                answer = {
                    "id": str(uuid.uuid4()),
                    "inviteRedeemUrl": f"https://invitations.example/redeem/?user={user_id}",
                    "invitedUserEmailAddress": body["invitedUserEmailAddress"],
                    "invitedUserDisplayName": body.get("invitedUserDisplayName", ""),
                    "inviteRedirectUrl": body["inviteRedirectUrl"],
                    "sendInvitationMessage": body.get("sendInvitationMessage", False),
                    "status": "PendingAcceptance",
                    "invitedUserType": "Guest",
                    "invitedUser": {"id": user_id},
                }
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.reply(201, answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
