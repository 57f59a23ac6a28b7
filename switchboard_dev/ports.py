"""Loopback ports: one that is free, whether one is taken, waiting for one to open."""

from __future__ import annotations

import contextlib
import socket
import time

__all__ = ["free_port", "port_open", "wait_for_port"]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something listens on ``host:port``; raise ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")
        time.sleep(0.05)
