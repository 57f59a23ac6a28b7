"""A provider emulator: a real HTTP server on 127.0.0.1 that records requests and answers
from a script per path (by default 200 with a provider-shaped JSON body)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.server import serving


@dataclass(frozen=True)
class Recorded:
    """One request the emulator received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    #: When it arrived (``time.monotonic()``).
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """A scripted answer."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


#: What a path answers when nothing is scripted: the provider's success shape.
DEFAULT_BODIES: dict[str, Any] = {"/chat.postMessage": {"ok": True, "ts": "1700000000.000100"}}


class ProviderEmulator:
    """Records every request; ``script(path, *answers)`` queues the next answers of a path."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.url = ""
        self._scripts: dict[str, deque[Answer]] = defaultdict(deque)
        self._arrived = asyncio.Condition()

    def script(self, path: str, *answers: Answer) -> None:
        self._scripts[path].extend(answers)

    def to(self, path: str) -> list[Recorded]:
        """The requests received on ``path``."""
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 20) -> list[Recorded]:
        """The requests on ``path`` once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        async with self._arrived:
            while len(self.to(path)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{path}: {len(self.to(path))} of {count} requests")
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    continue
        return self.to(path)

    async def _handle(self, request: Request) -> Response:
        recorded = Recorded(
            request.method,
            request.url.path,
            request.url.query,
            {k.lower(): v for k, v in request.headers.items()},
            await request.body(),
            time.monotonic(),
        )
        queue = self._scripts[recorded.path]
        answer = queue.popleft() if queue else Answer(body=DEFAULT_BODIES.get(recorded.path, {}))
        async with self._arrived:
            self.requests.append(recorded)
            self._arrived.notify_all()
        return Response(
            json.dumps(answer.body),
            status_code=answer.status,
            headers=answer.headers,
            media_type="application/json",
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])]
        )


@asynccontextmanager
async def running_emulator() -> AsyncIterator[ProviderEmulator]:
    """An emulator serving on a free port of 127.0.0.1 (``emulator.url``)."""
    emulator = ProviderEmulator()
    async with serving(emulator.app()) as url:  # type: ignore[arg-type]
        emulator.url = url
        yield emulator
