"""Property-based fuzzing of /v1.0/applications with a token that may use it (schemathesis).

The general fuzz test calls every route with the demo app, which lacks
Application.ReadWrite.All, so there these routes only answer 403; here the bodies and
queries reach the service. Nothing may be a 5xx or differ from the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.server import Caller, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("apps-fuzz")
    url = (
        f"sqlite:///{workdir}/guestgate.db"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url_factory")()
    )
    server = Server(workdir=workdir, database_url=url)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_applications_api_never_fails_and_answers_as_documented(
    fuzz_server: Server, mode: GenerationMode
) -> None:
    tenant = fuzz_server.demo_credentials()["TenantID"]
    caller = Caller.new_app(fuzz_server, tenant, "Application.ReadWrite.All")
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")
    operations = [
        r.ok() for r in schema.include(path_regex=r"^/v1\.0/applications").get_all_operations()
    ]
    assert len(operations) == 7
    exercised = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Case) -> None:
            case.call_and_validate(
                base_url=fuzz_server.base_url,
                headers=caller.headers,
                excluded_checks=[positive_data_acceptance],
            )

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE
            continue
        exercised += 1
    assert exercised >= 4
    if mode is GenerationMode.POSITIVE:  # generated bodies reached the service and were stored
        listed = caller.request("GET", "/v1.0/applications?$top=999").json()["value"]
        assert len(listed) > 2  # the demo app, this caller, and at least one generated
