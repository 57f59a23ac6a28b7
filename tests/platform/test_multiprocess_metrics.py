"""A service run with several worker processes reports one set of Prometheus totals.

Before, each worker counted only the requests it served, so a scrape saw whichever worker
answered it: the totals jumped between scrapes and summed to nothing meaningful.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import httpx

from switchboard_dev.ports import free_port
from switchboard_dev.stack import RUN_DIR, service_command

REQUESTS = 40
HEALTHZ_TOTAL = re.compile(
    r'^switchboard_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
    re.MULTILINE,
)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).is_success
    except httpx.HTTPError:
        return False


def test_two_workers_report_the_same_totals(stack_env: None, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "METRICS_CONSUMER_GROUP": f"metrics-workers-{port}"}
    command = service_command("metrics", port, workers=2)
    samples = RUN_DIR / "prometheus" / "metrics"
    log = tmp_path / "metrics.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(shlex.split(command), env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 90
        while not _ready(url):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "not ready:\n" + log.read_text()
            time.sleep(0.3)
        before = [float(v) for v in HEALTHZ_TOTAL.findall(httpx.get(url + "/metrics").text)]
        # A new connection each time, so the kernel spreads them over both workers.
        for _ in range(REQUESTS):
            assert httpx.get(url + "/healthz").status_code == 200
        scrapes = [httpx.get(url + "/metrics").text for _ in range(10)]
    finally:
        process.terminate()
        process.wait(30)
    start = before[0] if before else 0.0
    totals = {float(HEALTHZ_TOTAL.findall(text)[0]) for text in scrapes}
    assert totals == {start + REQUESTS}
    # Both processes wrote samples (the test would prove nothing if one served everything).
    writers = {p.name.rsplit("_", 1)[-1] for p in samples.glob("counter_*.db")}
    assert len(writers) >= 2, writers
