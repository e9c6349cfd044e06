"""`serve` on a new database until `/readyz` answers."""

from __future__ import annotations

from typing import Any

from bench.harness import CaseRun


def start(run: CaseRun) -> dict[str, Any]:
    with run.guestgate() as server:
        return {"ready_s": server.ready_seconds}
