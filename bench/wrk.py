"""Run wrk, in its own process, against one endpoint with the bench's Lua script."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("load.lua")
THREADS = 2


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian's packages when missing (as for chromium)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package) for the load generator", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still missing after apt-get install")
    return found


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    failed: int
    repeated_payloads: int
    latency_ms: dict[str, float]

    @property
    def accepted_per_s(self) -> float:
        return (self.requests - self.failed) / self.duration_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failed": self.failed,
            "duration_s": round(self.duration_s, 2),
            "accepted_per_s": round(self.accepted_per_s, 1),
            "repeated_payloads": self.repeated_payloads,
            "latency_ms": self.latency_ms,
        }


def run(
    url: str,
    payload_file: Path,
    *,
    connections: int,
    duration_s: float,
) -> WrkResult:
    """Drive ``url`` with each line of ``payload_file`` in turn; non-2xx count as failed."""
    command = [
        ensure_wrk(),
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(payload_file),
        str(THREADS),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {completed.stdout}\n{completed.stderr}")
    summary = json.loads(line.removeprefix("BENCH_JSON "))
    failed = sum(
        summary[key]
        for key in ("non_2xx_3xx", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return WrkResult(
        requests=summary["requests"],
        duration_s=summary["duration_us"] / 1e6,
        failed=failed,
        repeated_payloads=summary["repeated_payloads"],
        latency_ms=summary["latency_ms"],
    )
