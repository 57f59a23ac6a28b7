"""The end-to-end load process: paced webhooks in, offers read from the agents' streams.

Run as its own process by the bench (``python -m bench.e2e_load SPEC.json OUT.json``). It
opens every agent's server-sent event stream on the routing service, then sends the payloads
at a steady rate over keep-alive connections to the chat connector, noting when each webhook
got its 2xx and when each ``offer.created`` notice arrived. Both clocks are this process's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


def _request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def send_paced(
    url: str, lines: list[str], rate: float, connections: int
) -> tuple[dict[int, float], int]:
    """Send each payload at its slot; payload index -> time of the 2xx, and failures."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    accepted: dict[int, float] = {}
    failed = 0
    queue: asyncio.Queue[tuple[float, int, str] | None] = asyncio.Queue()
    start = time.monotonic() + 0.2
    for n, line in enumerate(lines):
        queue.put_nowait((start + n / rate, n, line))
    for _ in range(connections):
        queue.put_nowait(None)

    async def connection() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (item := await queue.get()) is not None:
                due, n, line = item
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                path, head, body = line.split("\t", 2)
                headers = dict(h.split(": ", 1) for h in head.split("\x1f"))
                writer.write(_request(f"{host}:{port}", path, headers, body.encode()))
                status = await _read_response(reader)
                if 200 <= status < 300:
                    accepted[n] = time.time()
                else:
                    failed += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return accepted, failed


async def watch_stream(
    url: str, token: str, offers: dict[str, float], ready: asyncio.Event, stop: asyncio.Event
) -> None:
    """Note the first offer of each conversation this agent's stream announces."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        (
            f"GET /agent/stream HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    try:
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(reader.readline(), 0.5)
            except TimeoutError:
                continue
            if not line:
                return
            if line.startswith(b"event: ready"):
                ready.set()
            if line.startswith(b"data: ") and b"offer.created" in line:
                notice = json.loads(line[6:])
                offers.setdefault(notice["conversation_id"], time.time())
    finally:
        writer.close()


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    offers: dict[str, float] = {}
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in spec["agent_tokens"]]
    watchers = [
        asyncio.create_task(watch_stream(spec["routing_url"], token, offers, ready, stop))
        for token, ready in zip(spec["agent_tokens"], readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    lines: list[str] = spec["lines"]
    started = time.monotonic()
    acks, failed = await send_paced(spec["chat_url"], lines, spec["rate"], spec["connections"])
    sent_s = time.monotonic() - started
    # Each chat payload is a conversation of its own: index -> its conversation id.
    accepted = {
        json.loads(lines[n].split("\t", 2)[2])["conversation_id"]: t for n, t in acks.items()
    }
    deadline = time.monotonic() + spec["drain_s"]
    while len(offers) < len(accepted) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*watchers, return_exceptions=True)
    return {"accepted": accepted, "failed": failed, "offers": offers, "sent_s": sent_s}


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    spec["lines"] = Path(spec["payload_file"]).read_text().splitlines()
    result = uvloop.run(main(spec))
    Path(sys.argv[2]).write_text(json.dumps(result))
