"""The reports bench case runs at a tiny size (2,000 invitations), so it cannot rot. Not a
timing test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.server import ROOT

pytestmark = pytest.mark.e2e


def test_the_reports_case_seeds_and_times_every_report(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "reports",
            "--report-invitations",
            "2000",
            "--report-calls",
            "3",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "report queries over 2000 invitations" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    figures = json.loads(report.read_text())["medians"]["reports"]
    assert figures["invitations"] == 2000
    assert 0 < figures["window_invitations"] < 2000  # a 90-day window of two years
    for name in ("summary", "summary_year", "requesters_week", "domains_day", "pending"):
        assert figures[f"{name}_p99_ms"] >= figures[f"{name}_p50_ms"] > 0, name
    assert figures["sign_ins_p50_ms"] > 0
    assert figures["worst_p99_ms"] > 0
