"""PNG plots of a bench run (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _save(fig: Any, out: Path, suffix: str) -> Path:
    """Write ``fig`` beside the results as ``<date><suffix>.png``."""
    fig.tight_layout()
    path = out.with_name(out.name + suffix + ".png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ingest_scaling(result: dict[str, Any], out: Path) -> Path:
    """Accepted webhooks/s per target at each worker count, with the bare ceiling."""
    runs = result["ingest"]["runs"]
    targets = sorted({r["target"] for r in runs}, key=lambda t: (t != "bare-fastapi", t))
    workers = sorted({r["workers"] for r in runs})
    fig, ax = plt.subplots(figsize=(9, 5))
    width = 0.8 / len(targets)
    for i, target in enumerate(targets):
        # A target measured at one worker count only has no bar at the others.
        rates = [
            next(
                (r["accepted_per_s"] for r in runs if r["target"] == target and r["workers"] == w),
                float("nan"),
            )
            for w in workers
        ]
        xs = [w_index + i * width for w_index in range(len(workers))]
        bars = ax.bar(xs, rates, width, label=target)
        labels = ["" if rate != rate else f"{rate:.0f}" for rate in rates]  # nan: no label
        ax.bar_label(bars, labels=labels, fontsize=7, rotation=90, padding=2)
    ceiling = result["ingest"].get("broker_ceiling")
    if ceiling:
        ax.axhline(
            ceiling["per_request_per_s"],
            color="grey",
            linestyle="--",
            label="raw aiokafka producer, 64 in flight (broker ceiling)",
        )
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(workers))])
    ax.set_xticklabels([f"{w} worker{'s' if w > 1 else ''}" for w in workers])
    ax.set_ylabel("accepted webhooks per second (wrk, 64 connections)")
    ax.set_title(f"Connector ingest vs the bare FastAPI endpoint ({result['date']})")
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, out, "-ingest")


def ingest_latency(result: dict[str, Any], out: Path) -> Path:
    """p50 and p99 of each target at one worker."""
    runs = [r for r in result["ingest"]["runs"] if r["workers"] == 1]
    fig, ax = plt.subplots(figsize=(9, 4))
    names = [r["target"] for r in runs]
    p50 = [r["latency_ms"]["p50"] for r in runs]
    p99 = [r["latency_ms"]["p99"] for r in runs]
    xs = range(len(runs))
    ax.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], p99, 0.4, label="p99")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=20, fontsize=8)
    ax.set_ylabel("ms per request at saturation (64 connections)")
    ax.set_title("Webhook latency at the maximum rate, 1 worker")
    ax.legend()
    return _save(fig, out, "-latency")


def end_to_end(result: dict[str, Any], out: Path) -> Path | None:
    """Webhook 2xx -> offer on the agent stream, percentiles at each load level."""
    levels = [
        level for level in (result.get("end_to_end") or {}).get("levels", []) if level["latency_ms"]
    ]
    if not levels:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{level['label']} ({level['rate_per_s']:.0f}/s)" for level in levels]
    for key in ("p50", "p95", "p99"):
        ax.plot(labels, [level["latency_ms"][key] for level in levels], marker="o", label=key)
    ax.set_ylabel("ms from webhook 2xx to offer on the agent stream")
    ax.set_xlabel("load: a trickle, then shares of the chat connector's maximum ingest rate")
    ax.set_yscale("log")
    ax.set_title("End-to-end latency")
    ax.legend()
    return _save(fig, out, "-end-to-end")


def routing_scaling(result: dict[str, Any], out: Path) -> Path | None:
    """Offers per second with 1,000 agents and 10 queues, at 1 and 2 routing instances."""
    runs = [r for r in result.get("routing") or [] if r.get("offers_per_s")]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar(
        [f"{r['instances']} instance(s)" for r in runs], [r["offers_per_s"] for r in runs]
    )
    ax.bar_label(bars, fmt="%.0f")
    ax.set_ylabel("offers made per second")
    ax.set_title("Routing: 1,000 agents, 10 queues, backlog on the topic")
    return _save(fig, out, "-routing")


def memory(result: dict[str, Any], out: Path) -> Path | None:
    """Peak RSS of each service under the sustained load."""
    peaks: dict[str, float] = (result.get("sustained") or {}).get("peak_rss_mb", {})
    if not peaks:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    bars = ax.bar(list(peaks), list(peaks.values()))
    ax.bar_label(bars, fmt="%.0f MB")
    rate = result["sustained"]["achieved_rate_per_s"]
    ax.set_ylabel("peak resident memory, MB (1 worker each)")
    ax.set_title(f"Memory of each service under {rate:.0f} webhooks/s through all six")
    return _save(fig, out, "-memory")


def metrics(result: dict[str, Any], out: Path) -> Path | None:
    """Metrics lag at each background rate, and GET /kpis latency over ten million events."""
    lags = [r for r in result.get("metrics_lag") or [] if r.get("lag_ms")]
    kpis = result.get("kpis")
    if not lags and not kpis:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    keys = ("p50", "p95", "p99")
    width = 0.8 / max(len(lags), 1)
    for i, run in enumerate(lags):
        xs = [k + i * width for k in range(len(keys))]
        bars = left.bar(
            xs,
            [run["lag_ms"][k] for k in keys],
            width,
            label=f"{run['background_rate_per_s']:.0f} events/s",
        )
        left.bar_label(bars, fmt="%.0f", fontsize=7)
    left.axhline(1000, color="red", linestyle="--", label="target: p99 under 1 s")
    left.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))])
    left.set_xticklabels(keys)
    left.set_ylabel("ms from event acknowledged to count in GET /kpis")
    left.set_title("Metrics lag under background load")
    left.legend(fontsize=7)
    if kpis:
        by_kind: dict[str, float] = kpis["median_ms_by_query"]
        bars = right.bar(list(by_kind), list(by_kind.values()))
        right.bar_label(bars, fmt="%.0f", fontsize=7)
        right.axhline(50, color="red", linestyle="--", label="target: p95 under 50 ms")
        right.set_ylabel("median ms per GET /kpis")
        right.set_title(
            f"GET /kpis over {kpis['events_worth'] / 1e6:.0f}M events' facts "
            f"(p95 {kpis['latency_ms']['p95']:.0f} ms)"
        )
        right.legend(fontsize=7)
    return _save(fig, out, "-metrics")


def write_all(result: dict[str, Any], out: Path) -> list[Path]:
    paths = [
        ingest_scaling(result, out) if "ingest" in result else None,
        ingest_latency(result, out) if "ingest" in result else None,
        end_to_end(result, out),
        routing_scaling(result, out),
        memory(result, out),
        metrics(result, out),
    ]
    return [p for p in paths if p is not None]
