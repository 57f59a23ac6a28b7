"""A real SMTP server (aiosmtpd) on 127.0.0.1: records each message, answers from a script."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as modern_policy
from typing import Any

from aiosmtpd.controller import Controller

from switchboard_dev.ports import free_port

__all__ = ["Received", "SmtpServer", "smtp_server"]


@dataclass(frozen=True)
class Received:
    """One message the server took: the envelope and the bytes as they came."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=modern_policy).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SmtpServer:
    """Records every message; answers DATA from the queued replies, then 250."""

    def __init__(self, port: int) -> None:
        self.url = f"smtp://127.0.0.1:{port}"
        self.received: list[Received] = []
        self._answers: list[str] = []

    def script(self, *answers: str) -> None:
        """Answer the next messages' DATA with these replies (``451 ...``, ``550 ...``)."""
        self._answers.extend(answers)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(data)))
        return self._answers.pop(0) if self._answers else "250 Message accepted for delivery"

    def with_message_id(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.message["Message-ID"] == f"<{message_id}>"]

    async def wait_for(
        self, message_id: str, count: int = 1, timeout: float = 30
    ) -> list[Received]:
        """The messages with ``message_id``, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(found := self.with_message_id(message_id)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the SMTP server received {len(found)} of {count}")
            await asyncio.sleep(0.05)
        return found


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A running server on a free port of 127.0.0.1."""
    port = free_port()
    server = SmtpServer(port)
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
