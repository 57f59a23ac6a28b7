"""``make run`` (``python -m switchboard_dev.stack``): the whole stack under one process runner.

Starts the embedded broker unless ``KAFKA_BOOTSTRAP_SERVERS`` is set; uses
``DATABASE_URL``, else the Postgres on 127.0.0.1:5432, else an embedded one;
applies migrations; then runs the broker and all six services under honcho.
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from switchboard_dev import migrations
from switchboard_dev.broker import tansu_command
from switchboard_dev.ports import free_port, port_open
from switchboard_dev.postgres import create_database, locate_postgres
from switchboard_dev.services import SERVICES

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"

#: The first service's port; the others follow in the order of SERVICES (as in
#: docker-compose.yml). ``SWITCHBOARD_PORT_BASE`` moves them all.
PORT_BASE = 8001


def service_ports(base: int = PORT_BASE) -> dict[str, int]:
    """Each service's port when the first one listens on ``base``."""
    return {name: base + offset for offset, name in enumerate(SERVICES)}


#: Seconds uvicorn waits for open responses on shutdown before it cancels them and runs the
#: lifespan's shutdown (consumers commit and leave their group, producers flush). Compose's
#: ``stop_grace_period`` leaves room above it for that.
GRACEFUL_SHUTDOWN_S = 20
#: The largest WebSocket message uvicorn buffers (its default is 16 MiB); the chat hub refuses
#: visitors' frames above 4 KiB itself, with a close code the widget understands.
WS_MAX_SIZE = 16384


def service_command(name: str, port: int, *, workers: int = 1) -> str:
    """How ``make run`` starts a service: ``workers`` processes share its port."""
    command = (
        f"{shlex.quote(sys.executable)} -m uvicorn --factory services.{name}.app:create_app "
        f"--host 127.0.0.1 --port {port} --loop uvloop --http httptools "
        f"--timeout-graceful-shutdown {GRACEFUL_SHUTDOWN_S} --ws-max-size {WS_MAX_SIZE}"
    )
    if workers == 1:
        return command
    # The workers share their Prometheus samples through a folder of the service's own.
    samples = RUN_DIR / "prometheus" / name
    shutil.rmtree(samples, ignore_errors=True)
    samples.mkdir(parents=True)
    return f"env PROMETHEUS_MULTIPROC_DIR={shlex.quote(str(samples))} {command} --workers {workers}"


def main() -> None:
    RUN_DIR.mkdir(exist_ok=True)
    env = dict(os.environ)
    procfile: list[str] = []

    if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
        kafka_port = int(env.get("SWITCHBOARD_KAFKA_PORT", "9092"))
        if port_open("127.0.0.1", kafka_port):
            kafka_port = free_port()
        procfile.append("broker: " + shlex.join(tansu_command(kafka_port)))
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{kafka_port}"
        broker_note = "embedded tansu (memory only)"
    else:
        broker_note = "external"

    embedded_pg = None
    if env.get("DATABASE_URL"):
        database_note = "DATABASE_URL"
    else:
        admin_url, embedded_pg = locate_postgres()
        env["DATABASE_URL"] = asyncio.run(create_database(admin_url, "switchboard"))
        database_note = (
            "embedded Postgres" if embedded_pg else "local Postgres, database switchboard"
        )

    try:
        print("applying migrations...", flush=True)
        migrations.upgrade(env["DATABASE_URL"])
        ports = service_ports(int(env.get("SWITCHBOARD_PORT_BASE", PORT_BASE)))
        workers = int(env.get("SWITCHBOARD_WORKERS", "1"))
        procfile += [
            f"{name}: {service_command(name, port, workers=workers)}"
            for name, port in ports.items()
        ]
        (RUN_DIR / "Procfile").write_text("\n".join(procfile) + "\n")
        (RUN_DIR / "stack.env").write_text(
            f"KAFKA_BOOTSTRAP_SERVERS={env['KAFKA_BOOTSTRAP_SERVERS']}\n"
            f"DATABASE_URL={env['DATABASE_URL']}\n"
        )
        print()
        print(f"  kafka     {env['KAFKA_BOOTSTRAP_SERVERS']:<32} {broker_note}")
        print(f"  postgres  {database_note}")
        for name, port in ports.items():
            print(f"  {name:<9} http://127.0.0.1:{port:<16} docs: http://127.0.0.1:{port}/docs")
        print("\n  read a topic: make tail TOPIC=interactions.v1     stop: Ctrl-C\n", flush=True)
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "honcho",
                # Not compose's .env (production secrets): the environment is already set.
                "-e",
                str(RUN_DIR / "stack.env"),
                "-f",
                str(RUN_DIR / "Procfile"),
                "-d",
                str(ROOT),
                "start",
            ],
            env=env,
        )
        try:
            runner.wait()
        except KeyboardInterrupt:
            runner.wait()
    finally:
        if embedded_pg is not None:
            embedded_pg.stop()


if __name__ == "__main__":
    main()
