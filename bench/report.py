"""What a bench run prints and keeps: medians of the runs, the table, the JSON report."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

# The peer is compared with these guestgate cases, run alternately with it.
COMPARED_WITH_PEER = ("invite", "invite:quiet")


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, int | float):
            merged[key] = statistics.median(r[key] for r in runs)
        else:
            merged[key] = value
    return merged


def peer_ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Successful requests/s of each compared guestgate case over the peer's (medians)."""
    peer = results.get("peer")
    if not peer or not peer.get("ok_rps"):
        return {}
    return {
        name: results[name]["ok_rps"] / peer["ok_rps"]
        for name in COMPARED_WITH_PEER
        if name in results
    }


def row(label: str, r: dict[str, Any], width: int = 13) -> str:
    return (
        f"{label:<{width}}{r['rps']:>9.0f}{r['ok_rps']:>9.0f}{r['p50_ms']:>7.1f}m"
        f"{r['p90_ms']:>7.1f}m{r['p99_ms']:>7.1f}m{r['max_ms']:>8.1f}m{r['errors']:>6}"
        f"{r['server_cpu']:>9.2f}{r['generator_cpu']:>9.2f}"
    )


def table(results: dict[str, dict[str, Any]]) -> str:
    w = max([13, *(len(name) + 1 for name in results)])
    head = (
        f"{'case':<{w}}{'req/s':>9}{'ok/s':>9}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>9}{'err':>6}"
        f"{'srv cpu':>9}{'gen cpu':>9}  peak RSS MiB"
    )
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        if "emails_per_s" in r:
            lines.append(
                f"{name:<{w}}{r['emails_per_s']:>9.0f} emails/s by one worker"
                f" ({r['delivered']:.0f} messages; worker CPU {r['worker_cpu']:.2f})"
            )
            continue
        if "deliveries_per_s" in r:
            lines.append(
                f"{name:<{w}}{r['deliveries_per_s']:>9.0f} webhook deliveries/s by one worker"
                f" ({r['delivered']:.0f} delivered; worker CPU {r['worker_cpu']:.2f})"
            )
            continue
        if "invites_per_s" in r:
            lines.append(
                f"{name:<{w}}{r['invites_per_s']:>9.2f} invites/s of a {r['rows']:.0f}-row job in"
                f" graph mode (target {r['target_per_s']:.0f}/s, {r['total_s']:.1f} s;"
                f" {r['failed']:.0f} failed; Graph answered {r['graph_201']:.0f} created,"
                f" {r['graph_429']:.0f} 429)"
            )
            continue
        if "rows_per_s" in r:
            lines.append(
                f"{name:<{w}}{r['rows_per_s']:>9.0f} rows/s of a {r['rows']:.0f}-row bulk job,"
                f" upload to results file ({r['total_s']:.1f} s; {r['failed']:.0f} failed)"
            )
            continue
        if "worst_list_p99_ms" in r:
            lines.append(
                f"{name:<{w}}console pages over {r['guests']:.0f} guests at"
                f" {r['console_rate']:.0f} pages/s each: worst guests-page p99"
                f" {r['worst_list_p99_ms']:.1f} ms (target {r['list_target_ms']:.0f}), profile"
                f" p99 {r['profile_p99_ms']:.1f} ms (target {r['profile_target_ms']:.0f})"
            )
            for key in [k.removesuffix("_p50_ms") for k in r if k.endswith("_p50_ms")]:
                lines.append(
                    f"{'':<{w}}  {key}: p50 {r[key + '_p50_ms']:.1f} ms,"
                    f" p99 {r[key + '_p99_ms']:.1f} ms, {r[key + '_rate']:.1f}/s,"
                    f" {r[key + '_not_ok']:.0f} not 200"
                )
            continue
        if "worst_p99_ms" in r:
            lines.append(
                f"{name:<{w}}report queries over {r['invitations']:.0f} invitations: worst p99"
                f" {r['worst_p99_ms']:.1f} ms (target {r['target_p99_ms']:.0f} ms)"
            )
            for key in [k.removesuffix("_p50_ms") for k in r if k.endswith("_p50_ms")]:
                lines.append(
                    f"{'':<{w}}  {key}: p50 {r[key + '_p50_ms']:.1f} ms,"
                    f" p99 {r[key + '_p99_ms']:.1f} ms"
                )
            continue
        if "pass_cpu_s" in r:
            lines.append(
                f"{name:<{w}}one lifecycle pass over {r['guests']:.0f} guests under"
                f" {r['rate']:.0f} invites/s: {r['pass_cpu_s']:.1f} s CPU, {r['pass_s']:.1f} s"
                f" (target {r['pass_target_s']:.0f} s); invites meanwhile {r['during_rps']:.0f}/s,"
                f" p50 {r['during_p50_ms']:.1f} ms, p99 {r['during_p99_ms']:.1f} ms (target"
                f" {r['p99_target_ms']:.0f}), {r['during_errors']:.0f} errors,"
                f" {r['during_non2xx']:.0f} not 2xx"
            )
            continue
        if "evaluation_s" in r:
            lines.append(
                f"{name:<{w}}one lifecycle evaluation over {r['guests']:.0f} guests:"
                f" {r['evaluation_s']:.1f} s ({r['evaluation_cpu_s']:.1f} s CPU,"
                f" {r['guests_per_s']:.0f} guests/s, target {r['target_s']:.0f} s),"
                f" {r['due_steps']:.0f} steps due"
            )
            continue
        if "rps" not in r:
            lines.append(f"{name:<{w}}ready in {r['ready_s']:.2f} s")
            continue
        lines.append(row(name, r, w) + f"  {r['peak_rss_mib']}")
        for prefix, label in (
            ("deep_", f"  page {r.get('page')}"),
            ("ol_", "  fixed rate"),
            ("ol_deep_", f"  … page {r.get('page')}"),
        ):
            if prefix + "rps" in r:
                lines.append(row(label, {k[len(prefix) :]: v for k, v in r.items()}, w))
        if "backlog_end" in r:
            lines.append(
                f"{'':<{w}}{r['emails_delivered']:.0f} emails delivered during the run; outbox"
                f" backlog {r['backlog_after_warmup']:.0f} after the first fifth,"
                f" {r['backlog_end']:.0f} at the end"
            )
        if "event_cpu_overhead_pct" in r:
            lines.append(
                f"{'':<{w}}server CPU per invite {r['cpu_ms_per_invite']:.2f} ms with its event,"
                f" {r['cpu_ms_per_invite_without_events']:.2f} ms without:"
                f" the event adds {r['event_cpu_overhead_pct']:+.1f} %"
            )
        if "metrics_cpu_overhead_pct" in r:
            lines.append(
                f"{'':<{w}}server CPU per invite {r['cpu_ms_per_invite']:.3f} ms with metrics,"
                f" {r['cpu_ms_per_invite_without_metrics']:.3f} ms without:"
                f" metrics add {r['metrics_cpu_overhead_pct']:+.1f} %"
                f" ({r['scrapes_ok']:.0f} of {r['scrapes']:.0f} scrapes answered)"
            )
        if "signins_per_s" in r:
            lines.append(
                f"{'':<{w}}{r['signins_per_s']:.0f} complete sign-ins/s (authorize + token),"
                f" {r['signin_failures']:.0f} failed"
            )
        if "codes_per_s" in r:
            lines.append(
                f"{'':<{w}}{r['codes']:.0f} codes made first, {r['codes_per_s']:.0f}/s by"
                " authorize with the session"
            )
        if r.get("rss_at_100k_mib"):
            lines.append(f"{'':<{w}}RSS after 100,000 invites: {r['rss_at_100k_mib']} MiB")
        if "rss_end_mib" in r:
            lines.append(
                f"{'':<{w}}5xx {r['status_5xx']}, RSS {r['rss_after_warmup_mib']} →"
                f" {r['rss_end_mib']} MiB ({r['rss_growth_per_10min_mib']} per 10 min),"
                f" fds {r['fds_after_warmup']} → {r['fds_end']}"
            )
        if name == "peer":
            for compared, ratio in peer_ratios(results).items():
                lines.append(f"{'':<{w}}{compared} / peer: {ratio:.1f}× (medians of ok/s)")
    return "\n".join(lines)


def write(
    out: Path,
    *,
    settings: dict[str, Any],
    results: dict[str, dict[str, Any]],
    runs: dict[str, list[dict[str, Any]]],
) -> Path:
    """The report as bench/results/<time>.json: machine, settings, medians and every run."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "time": stamp,
        "machine": machine(),
        "settings": settings,
        "medians": results,
        "ratios": peer_ratios(results),
        "runs": runs,
    }
    path = out / f"{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
