"""Connector ingest against the framework's and the broker's ceilings, at 1, 2 and 4 workers."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import payloads, wrk
from bench.stack import ROOT, Stack

#: Targets measured at every worker count; the others only at one worker.
SCALED = ("chat/generic", "social/messenger")
#: Requests per second no target reaches here, per worker: enough distinct payloads for a
#: whole run (a run that sends more repeats payloads and says how many in the results).
PAYLOADS_PER_S = 9000
CONNECTOR_PAYLOADS_PER_S_PER_WORKER = 2500


def _payload_file(
    directory: Path, target: str, run: str, duration_s: float, per_s: int = PAYLOADS_PER_S
) -> Path:
    _, builder = payloads.TARGETS[target]
    count = int(per_s * duration_s)
    return payloads.write(directory / f"{run}.txt", builder, count, run)


def measure_one(
    stack: Stack,
    *,
    name: str,
    app: str,
    factory: bool,
    workers: int,
    payload_file: Path,
    connections: int,
    duration_s: float,
) -> dict[str, Any]:
    began = time.monotonic()
    process = stack.start(name, app, workers=workers, factory=factory)
    try:
        time.sleep(1.0)  # let every worker finish starting
        with process.sampling_rss():
            result = wrk.run(
                process.base_url,
                payload_file,
                connections=connections,
                duration_s=duration_s,
            )
        return {
            "target": name,
            "workers": workers,
            **result.as_dict(),
            "peak_rss_mb": round(process.peak_rss / 2**20, 1),
        }
    finally:
        stack.stop(process)
        print(f"    ({name}, {workers} worker(s): {time.monotonic() - began:.0f} s)", flush=True)


def broker_ceiling(stack: Stack, count: int) -> dict[str, Any]:
    """Run the raw-producer measurement in its own process; its JSON line as a dict."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.broker_ceiling", stack.broker.bootstrap, str(count)],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(
    stack: Stack,
    *,
    stamp: str,
    workers_list: tuple[int, ...],
    targets: tuple[str, ...],
    connections: int,
    duration_s: float,
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    ceiling: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as tmp:
        directory = Path(tmp)
        bare_file = _payload_file(directory, "chat/generic", f"{stamp}-bare", duration_s)
        for workers in workers_list:
            bare = measure_one(
                stack,
                name="bare-fastapi",
                app="bench.bare:app",
                factory=False,
                workers=workers,
                payload_file=bare_file,
                connections=connections,
                duration_s=duration_s,
            )
            print(_line(bare), flush=True)
            runs.append(bare)
            for target in targets:
                if workers > 1 and target not in SCALED:
                    continue
                service, _ = payloads.TARGETS[target]
                run_id = f"{stamp}-{target.replace('/', '-')}-w{workers}"
                result = measure_one(
                    stack,
                    name=target,
                    app=f"services.{service}.app:create_app",
                    factory=True,
                    workers=workers,
                    payload_file=_payload_file(
                        directory,
                        target,
                        run_id,
                        duration_s,
                        CONNECTOR_PAYLOADS_PER_S_PER_WORKER * workers,
                    ),
                    connections=connections,
                    duration_s=duration_s,
                )
                result["vs_bare"] = round(result["accepted_per_s"] / bare["accepted_per_s"], 3)
                print(_line(result), flush=True)
                runs.append(result)
                if ceiling is None and target == "chat/generic" and workers == 1:
                    accepted = result["requests"] - result["failed"]
                    ceiling = broker_ceiling(stack, min(accepted, 30_000))
                    ceiling["vs_chat_generic"] = round(
                        result["accepted_per_s"] / ceiling["per_request_per_s"], 3
                    )
                    print(f"  broker ceiling (raw aiokafka, same event bytes): {ceiling}")
    return {"runs": runs, "broker_ceiling": ceiling}


def _line(result: dict[str, Any]) -> str:
    ratio = f"  {result['vs_bare']:.2f}x bare" if "vs_bare" in result else ""
    return (
        f"  {result['target']:<18} workers={result['workers']} "
        f"{result['accepted_per_s']:>8.0f} accepted/s  p50 {result['latency_ms']['p50']:.1f} ms "
        f"p99 {result['latency_ms']['p99']:.1f} ms  failed {result['failed']}  "
        f"peak RSS {result['peak_rss_mb']} MB{ratio}"
    )
