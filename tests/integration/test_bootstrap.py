"""The composition root: one runtime per process, from Settings, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from guestgate.bootstrap import build_runtime, running
from guestgate.config import Settings
from guestgate.domain.timestamps import utcnow
from guestgate.services import keys, tenants

pytestmark = pytest.mark.anyio


async def test_a_command_runtime_works_on_the_database_and_closes(settings: Settings) -> None:
    async with running(settings) as runtime:
        assert runtime.settings is settings
        await keys.ensure_signing_key(runtime.uow(), sealer=runtime.sealer, now=runtime.now())
        tenant = await tenants.create_tenant(
            runtime.uow(), name="Contoso", domains=["contoso.example"], now=utcnow()
        )
        assert (await runtime.keyring.current()).signing_kid
    # A second runtime (another command) sees what the first committed.
    async with running(settings) as runtime:
        listed = await tenants.list_tenants(runtime.uow(write=False))
        assert [t.id for t in listed] == [tenant.id]


async def test_keys_are_derived_once_from_the_secret_key(settings: Settings) -> None:
    first, second = build_runtime(settings), build_runtime(settings)
    try:
        assert first.hash_key == second.hash_key
        assert len({first.hash_key, first.cursor_key, first.form_key}) == 3
    finally:
        await first.close()
        await second.close()


async def test_graph_client_is_built_only_when_serving_in_graph_mode(settings: Settings) -> None:
    graph_settings = settings.with_overrides(directory="graph", graph_url="http://127.0.0.1:9")
    command = build_runtime(graph_settings)
    served = build_runtime(graph_settings, connect_graph=True)
    local = build_runtime(settings, connect_graph=True)
    try:
        assert command.graph is None
        assert local.graph is None
        assert served.graph is not None
        assert served.graph.app_tokens is None  # no app registration: callers' tokens go on
        assert not served.verifier.enforces_roles  # Graph decides what a forwarded token may do
        assert local.verifier.enforces_roles
    finally:
        for runtime in (command, served, local):
            await runtime.close()


def test_local_mode_never_imports_the_graph_stack(tmp_path: Path) -> None:
    # A fresh interpreter: this test process may have imported the Graph adapter already.
    script = f"""
import sys
from guestgate.config import DatabaseSettings, Settings
from guestgate.web.app import create_app

create_app(Settings(database=DatabaseSettings(url="sqlite:///{tmp_path}/gg.db"),
                    secret_key=b"k" * 32))
loaded = sorted(m for m in ("guestgate.adapters.graph", "msal") if m in sys.modules)
assert not loaded, loaded
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
