"""The six services, listed once for every tool that starts or migrates them all."""

from __future__ import annotations

__all__ = ["SERVICES"]

#: Every service, in the order migrations apply and ``make run`` gives out ports.
SERVICES = ("email", "social", "chat", "phone", "routing", "metrics")
