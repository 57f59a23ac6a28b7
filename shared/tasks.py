"""Ending background tasks at shutdown."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["finish"]


async def finish(task: asyncio.Task[None] | None, timeout: float) -> None:
    """Give ``task`` up to ``timeout`` seconds to end by itself (draining), then cancel it."""
    if task is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
