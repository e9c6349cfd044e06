"""The benchmark harness runs (tiny configuration), so it cannot rot. Not a timing test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.server import ROOT

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(
    not shutil.which("wrk") and not __import__("os").environ.get("CI"),
    reason="wrk is not installed",
)
def test_bench_harness_produces_a_report(
    tmp_path: Path, postgres_url_factory: Callable[[], str]
) -> None:  # invite-pg makes its own database on the local PostgreSQL
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "start,token,invite,invite-500,invite-email,drain,invite-pg,redeem,users-1m,memory,soak",
            "--rate",
            "50",
            "--email-rate",
            "50",
            "--guests",
            "3000",
            "--page",
            "5",
            "--soak-seconds",
            "3",
            "--duration",
            "1",
            "--connections",
            "4",
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
    assert "req/s" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    document = json.loads(report.read_text())
    assert document["machine"]["cpus"] >= 1
    medians = document["medians"]
    assert medians["start"]["ready_s"] > 0
    for name in ("token", "invite", "redeem"):
        assert medians[name]["requests"] > 0, name
        assert medians[name]["ok_rps"] > 0, name
        assert len(medians[name]["peak_rss_mib"]) >= 2, name
    assert medians["drain"]["delivered"] >= medians["drain"]["queued"] > 0
    assert medians["invite-500"]["requests"] > 0
    assert medians["invite-500"]["non2xx"] == 0
    assert medians["users-1m"]["ok_rps"] > 0
    assert medians["users-1m"]["deep_ok_rps"] > 0
    assert medians["users-1m"]["ol_ok_rps"] > 0
    assert medians["users-1m"]["ol_deep_ok_rps"] > 0
    mail = medians["invite-email"]
    assert mail["requests"] > 0
    assert mail["emails_delivered"] > 0
    assert "backlog_end" in mail
    assert medians["invite-pg"]["requests"] > 0
    assert medians["invite-pg"]["non2xx"] == 0
    memory = medians["memory"]
    assert memory["requests"] > 0
    assert memory["status_5xx"] == 0
    assert all(len(s["rss_mib"]) >= 2 for s in memory["samples"])
    assert medians["drain"]["emails_per_s"] > 0
    soak = medians["soak"]
    assert soak["requests"] > 0
    assert soak["status_5xx"] == 0
    assert soak["samples"]
    assert all(len(s["fds"]) >= 2 for s in soak["samples"])


@pytest.mark.skipif(
    not shutil.which("wrk") and not __import__("os").environ.get("CI"),
    reason="wrk is not installed",
)
def test_bench_peer_runs_alternating_with_invite(tmp_path: Path) -> None:
    """The peer is built (its virtualenv once), served, loaded by invite.lua, and compared."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "peer",
            "--duration",
            "1",
            "--connections",
            "4",
            "--runs",
            "2",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "invite / peer:" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    document = json.loads(report.read_text())
    assert [r["requests"] > 0 for r in document["runs"]["peer"]] == [True, True]
    assert len(document["runs"]["invite"]) == 2
    peer = document["medians"]["peer"]
    assert peer["ok_rps"] > 0
    assert peer["non2xx"] == 0
    assert peer["errors"] == 0
    assert len(peer["peak_rss_mib"]) == 2  # two gunicorn workers
    assert document["ratios"]["invite"] == pytest.approx(
        document["medians"]["invite"]["ok_rps"] / peer["ok_rps"]
    )


@pytest.mark.skipif(
    not shutil.which("wrk") and not __import__("os").environ.get("CI"),
    reason="wrk is not installed",
)
def test_bench_sign_in_cases_exchange_codes_and_sign_in(tmp_path: Path) -> None:
    """code-exchange redeems codes made before its timed part; sign-in completes sign-ins
    with a live session. Every exchange and sign-in must succeed; their speed is not checked."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "code-exchange,sign-in",
            "--exchange-rate",
            "40",
            "--duration",
            "1",
            "--connections",
            "4",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "complete sign-ins/s" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    medians = json.loads(report.read_text())["medians"]
    exchange = medians["code-exchange"]
    assert exchange["codes"] == 40
    assert exchange["requests"] == 40  # each code redeemed once, every one answered
    assert exchange["non2xx"] == 0
    assert exchange["errors"] == 0
    assert exchange["codes_per_s"] > 0
    sign_in = medians["sign-in"]
    assert sign_in["signins"] > 0
    assert sign_in["signin_failures"] == 0
    assert sign_in["non2xx"] == 0
    # Each sign-in is two requests; at most one authorization per connection is unfinished.
    assert sign_in["requests"] // 2 - 4 <= sign_in["signins"] <= sign_in["requests"] // 2
    assert 0 < sign_in["signins_per_s"] < sign_in["rps"]


@pytest.mark.skipif(
    not shutil.which("wrk") and not __import__("os").environ.get("CI"),
    reason="wrk is not installed",
)
def test_bench_event_cases_deliver_webhooks_and_compare_the_invite_cpu(tmp_path: Path) -> None:
    """deliveries: one worker delivers every queued event to the local receiver;
    invite-events: the server without event writing really wrote none. Speed is not checked."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "deliveries,invite-events",
            "--duration",
            "1",
            "--connections",
            "4",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "webhook deliveries/s by one worker" in result.stdout
    assert "the event adds" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    medians = json.loads(report.read_text())["medians"]
    hooks = medians["deliveries"]
    assert hooks["delivered"] >= hooks["queued"] > 0
    assert hooks["deliveries_per_s"] > 0
    events = medians["invite-events"]
    assert events["ok_rps"] > 0
    assert events["ok_rps_without_events"] > 0
    assert events["events_stored"] >= events["requests"] - events["non2xx"] > 0
    assert events["events_stored_without"] == 0
    assert events["cpu_ms_per_invite"] > 0
    assert events["cpu_ms_per_invite_without_events"] > 0


@pytest.mark.skipif(
    not shutil.which("wrk") and not __import__("os").environ.get("CI"),
    reason="wrk is not installed",
)
def test_bench_metrics_case_compares_the_invite_cpu_with_metrics_on_and_off(
    tmp_path: Path,
) -> None:
    """invite-metrics: four short runs (off, on, on, off), both CPU costs reported; speed is
    not checked."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "invite-metrics",
            "--duration",
            "1",
            "--connections",
            "4",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "metrics add" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    measured = json.loads(report.read_text())["medians"]["invite-metrics"]
    assert measured["ok_rps"] > 0
    assert len(measured["cpu_ms_per_invite_runs"]["on"]) == 2
    assert len(measured["cpu_ms_per_invite_runs"]["off"]) == 2
    assert measured["cpu_ms_per_invite"] > 0
    assert measured["cpu_ms_per_invite_without_metrics"] > 0
    assert measured["scrapes_ok"] == measured["scrapes"]


@pytest.mark.postgres
def test_bench_bulk_cases_run_a_job_from_upload_to_results(tmp_path: Path) -> None:
    """bulk and bulk-pg with a small file: every row invited, a rate reported; speed is not
    checked."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "bulk,bulk-pg",
            "--bulk-rows",
            "300",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rows/s of a 300-row bulk job" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    medians = json.loads(report.read_text())["medians"]
    for case in ("bulk", "bulk-pg"):
        assert medians[case]["succeeded"] == 300
        assert medians[case]["failed"] == 0
        assert medians[case]["rows_per_s"] > 0


def test_bench_console_case_times_the_guest_list_and_profile_pages(tmp_path: Path) -> None:
    """console with 2,000 seeded guests and one second of each page kind: every page answered
    200 through the minted session and figures reported; speed is not checked."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--cases",
            "console",
            "--guests",
            "2000",
            "--console-rate",
            "10",
            "--duration",
            "1",
            "--runs",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "console pages over 2000 guests at 10 pages/s each" in result.stdout
    [report] = list(tmp_path.glob("*.json"))
    figures = json.loads(report.read_text())["medians"]["console"]
    assert figures["guests"] == 2000
    assert figures["pages_not_ok"] == 0
    for kind in ("guests", "state", "domain", "text", "requester", "profile"):
        assert figures[f"{kind}_ok"] == 10, kind
        assert figures[f"{kind}_p99_ms"] >= figures[f"{kind}_p50_ms"] > 0, kind
