"""``python -m bench``: start the stack, load it from wrk, write JSON and PNG plots.

Every figure is measured in the same run as the ceiling it is compared with, so the ratio holds
on a noisy machine. Each measurement lasts ``--duration`` seconds (5 by default) to keep the
whole run under ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    ingest,
    kpis_bench,
    metrics_lag,
    payloads,
    plots,
    profiling,
    routing_bench,
    sustained,
    wrk,
)
from bench.stack import running_stack

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", default="1,2,4", help="uvicorn worker counts for ingest")
    parser.add_argument(
        "--targets", default=",".join(payloads.TARGETS), help="ingest targets, comma-separated"
    )
    parser.add_argument(
        "--skip", default="", help="phases to skip: ingest,e2e,routing,sustained,lag,kpis,profile"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def chat_max_rate(result: dict[str, Any]) -> float:
    """The chat connector's accepted/s at one worker in this run (a guess when not measured)."""
    for run in result.get("ingest", {}).get("runs", []):
        if run["target"] == "chat/generic" and run["workers"] == 1:
            return float(run["accepted_per_s"])
    return 1000.0


def main() -> None:
    args = parse_args()
    wrk.ensure_wrk()
    started = time.monotonic()
    now = datetime.now(UTC)
    skip = set(filter(None, args.skip.split(",")))
    result: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d"),
        "started_at": now.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "wrk_threads": wrk.THREADS,
            "uvicorn": "uvloop + httptools, no access log",
        },
    }
    stamp = now.strftime("%Y%m%dT%H%M%S")
    with running_stack() as stack:
        if "ingest" not in skip:
            print(f"ingest (wrk, {args.duration:g} s per run):", flush=True)
            result["ingest"] = ingest.run(
                stack,
                stamp=stamp,
                workers_list=tuple(int(w) for w in args.workers.split(",")),
                targets=tuple(args.targets.split(",")),
                connections=args.connections,
                duration_s=args.duration,
            )
        if "e2e" not in skip:
            print("end to end (webhook 2xx -> offer on the agent stream):", flush=True)
            result["end_to_end"] = routing_bench.end_to_end(
                stack, max_rate=chat_max_rate(result), stamp=stamp, duration_s=args.duration
            )
        if "routing" not in skip:
            print("routing assignments (1,000 agents, 10 queues):", flush=True)
            result["routing"] = [
                routing_bench.assignments(stack, instances=n, stamp=stamp) for n in (1, 2)
            ]
        if "sustained" not in skip:
            print("sustained load through all six services (chat + social webhooks):", flush=True)
            result["sustained"] = sustained.measure(stack, stamp=stamp)
        if "lag" not in skip:
            print("metrics lag (event acknowledged -> count visible in GET /kpis):", flush=True)
            result["metrics_lag"] = metrics_lag.measure(stack, stamp=stamp)
        if "kpis" not in skip:
            print("GET /kpis over ten million events' worth of facts:", flush=True)
            result["kpis"] = kpis_bench.measure(stack)
        if "profile" not in skip:
            print("profile of the hottest path (py-spy, chat/generic):", flush=True)
            result["profile"] = profiling.profile_chat(stack, stamp=stamp, duration_s=args.duration)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / result["date"]
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    written = plots.write_all(result, out)
    print(f"\nwrote {out.with_suffix('.json')}" + "".join(f"\nwrote {p}" for p in written))
    print(f"elapsed {result['elapsed_s']} s")


if __name__ == "__main__":
    main()
