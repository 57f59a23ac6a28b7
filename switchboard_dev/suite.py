"""``make test`` (``python -m switchboard_dev.suite``): the suite in two lanes side by side.

Each pytest session starts its own broker and database, so sessions never see each other's
agents, queues or consumer groups. Most of a session's time is spent waiting (joins to
consumer groups, sessions timing out, polls), not computing, so two lanes of sessions run at
once. A session's output is printed whole when it ends; the exit status is 1 when any session
failed. Arguments are passed to every session (``python -m switchboard_dev.suite -x``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Lanes run side by side; a lane's sessions run one after the other. Measured on 2 cores:
#: chat/email/phone/drills 409 s, metrics 118 s, social/shared 109 s; platform 266 s, routing
#: 408 s. The routing modules come in a session of their own: the platform modules' leftovers
#: (available agents, open queues) would take their conversations.
LANES: list[list[list[str]]] = [
    [
        ["tests/chat", "tests/email", "tests/phone", "tests/drills"],
        ["tests/metrics"],
        ["tests/social", "tests/shared"],
    ],
    [["tests/platform"], ["tests/routing"]],
]


@dataclass
class Session:
    paths: list[str]
    status: int = -1
    seconds: float = 0.0


def run_session(session: Session, extra: list[str], lock: threading.Lock) -> None:
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        command = [sys.executable, "-m", "pytest", *session.paths, *extra]
        session.status = subprocess.call(command, cwd=ROOT, stdout=output, stderr=output)
        session.seconds = time.monotonic() - started
        output.seek(0)
        with lock:
            print(f"==> {' '.join(session.paths)} ({session.seconds:.0f} s)", flush=True)
            sys.stdout.write(output.read())
            sys.stdout.flush()


def run_lane(sessions: list[Session], extra: list[str], lock: threading.Lock) -> None:
    for session in sessions:
        run_session(session, extra, lock)


def main(extra: list[str]) -> int:
    lock = threading.Lock()
    lanes = [[Session(paths) for paths in lane] for lane in LANES]
    threads = [threading.Thread(target=run_lane, args=(lane, extra, lock)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("\n==> summary")
    for session in (s for lane in lanes for s in lane):
        verdict = "passed" if session.status == 0 else f"FAILED (exit {session.status})"
        print(f"    {' '.join(session.paths)}: {verdict} in {session.seconds:.0f} s")
    return 0 if all(s.status == 0 for lane in lanes for s in lane) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
