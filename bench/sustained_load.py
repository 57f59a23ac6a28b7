"""The sustained load process: several connectors driven at once, each at its own pace.

Run as its own process by the bench (``python -m bench.sustained_load SPEC.json OUT.json``);
the spec lists ``{"url", "payload_file", "rate"}`` streams. Writes how many webhooks each
stream got a 2xx for, how many failed, and how long the sending took.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.e2e_load import send_paced


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    streams = spec["streams"]
    lines = [Path(s["payload_file"]).read_text().splitlines() for s in streams]  # noqa: ASYNC240 (before any load)
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            send_paced(s["url"], payload_lines, s["rate"], spec["connections_per_stream"])
            for s, payload_lines in zip(streams, lines, strict=True)
        )
    )
    return {
        "accepted": [len(accepted) for accepted, _ in results],
        "failed": [failed for _, failed in results],
        "sent_s": time.monotonic() - started,
    }


if __name__ == "__main__":
    result = uvloop.run(main(json.loads(Path(sys.argv[1]).read_text())))
    Path(sys.argv[2]).write_text(json.dumps(result))
