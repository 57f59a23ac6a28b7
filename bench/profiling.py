"""Profile the hottest path: py-spy samples a connector worker while wrk drives it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import payloads, wrk
from bench.ingest import PAYLOADS_PER_S
from bench.profile import summarise
from bench.stack import Stack


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is missing: pip install -e '.[dev]'")
    return found


def profile_chat(stack: Stack, *, stamp: str, duration_s: float) -> dict[str, Any]:
    """A separate run (the sampler slows the server, so its rate is not a figure)."""
    process = stack.start("chat/generic", "services.chat.app:create_app")
    try:
        with tempfile.TemporaryDirectory(prefix="switchboard-profile-") as tmp:
            count = int(PAYLOADS_PER_S * duration_s)
            run = f"{stamp}-profile"
            file = payloads.write(Path(tmp) / "p.txt", payloads.chat_generic, count, run)
            raw = Path(tmp) / "profile.txt"
            time.sleep(1.0)
            sampler = subprocess.Popen(
                [
                    py_spy(),
                    "record",
                    "--pid",
                    str(process.popen.pid),
                    "--duration",
                    str(int(duration_s)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--gil",
                    "--nonblocking",
                    "--output",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wrk.run(process.base_url, file, connections=64, duration_s=duration_s)
            sampler.wait(60)
            summary = summarise(raw)
    finally:
        stack.stop(process)
    for frame in summary["self"][:8]:
        print(f"  {frame['share']:6.1%} self       {frame['frame']}")
    for frame in summary["project_inclusive"][:8]:
        print(f"  {frame['share']:6.1%} inclusive  {frame['frame']}")
    return summary
