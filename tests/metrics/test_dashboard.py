"""The wall-screen dashboard, in headless Chromium, shows the numbers the API gives."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

from shared.db import Database
from shared.events import Channel, LifecycleStep, RoutingEvent
from shared.kafka import EventProducer
from tests.metrics.conftest import ADMIN, ADMIN_TOKEN, publish, wait_processed
from tests.metrics.scenario import Day

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The card rows and where their number is in a KPI report's totals.
ROWS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "Inbound": ("volume", lambda k: k["counts"]["inbound"]),
    "Conversations": ("volume", lambda k: k["counts"]["conversations"]),
    "Service level": ("service_level", lambda k: k["value"]),
    "Abandoned": ("abandonment_rate", lambda k: k["value"]),
    "FRT mean": ("first_response_time", lambda k: k["stats"]["mean"]),
    "FRT median": ("first_response_time", lambda k: k["stats"]["median"]),
    "FRT p90": ("first_response_time", lambda k: k["stats"]["p90"]),
    "Handle time": ("handle_time", lambda k: k["value"]),
    "Resolution": ("first_resolution_time", lambda k: k["value"]),
    "Transfers": ("transfer_rate", lambda k: k["value"]),
    "Reopens": ("reopen_rate", lambda k: k["value"]),
    "CSAT": ("csat", lambda k: k["value"]),
    "NPS": ("nps", lambda k: k["value"]),
}


def read_back(text: str) -> tuple[float, float]:
    """The number a card shows, and how far rounding may have moved it."""
    if match := re.fullmatch(r"(\d+)h (\d+)m", text):
        return int(match[1]) * 3600 + int(match[2]) * 60, 60
    if match := re.fullmatch(r"(\d+)m (\d+)s", text):
        return int(match[1]) * 60 + int(match[2]), 1
    return float(text.rstrip("%s")), 0.05 + 1e-9


async def _report(url: str, day: Day, granularity: str, **filters: str) -> dict[str, Any]:
    params = {
        "start": day.start.isoformat(),
        "end": day.end.isoformat(),
        "granularity": granularity,
    }
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as client:
        body: dict[str, Any] = (await client.get("/kpis", params=params | filters)).json()
    return body


async def test_dashboard_shows_the_api_numbers(
    metrics_url: str, golden_day: Day, tmp_path: Path
) -> None:
    day = golden_day
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            await page.goto(f"{metrics_url}/dashboard?day={day.start:%Y-%m-%d}#token={ADMIN_TOKEN}")
            await page.wait_for_selector("body[data-loaded='true']", timeout=20_000)
            # The token left the address bar (and so the history) as soon as it was read.
            assert "token" not in page.url
            cells = await page.eval_on_selector_all(
                ".value[data-testid]",
                "els => els.map(e => [e.dataset.testid, e.dataset.value, e.textContent])",
            )
            bars = await page.eval_on_selector_all(
                "#volume-chart rect", "els => els.map(e => [e.dataset.bucket, e.dataset.value])"
            )
            screenshot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(screenshot), full_page=True)
        finally:
            await browser.close()

    shown = {testid: (value, text) for testid, value, text in cells}
    for channel in ("phone", "chat", "social", "email"):
        totals = (await _report(metrics_url, day, "day", channel=channel))["totals"]
        for label, (name, pick) in ROWS.items():
            want = pick(totals[name])
            value, text = shown[f"{channel}:{label}"]
            if want is None:
                assert (value, text) == ("", "\u2013"), (channel, label)
                continue
            assert float(value) == want, (channel, label)
            # The text is the same number, rounded for the wall.
            shown_value, precision = read_back(text)
            assert abs(shown_value - want) <= precision, (channel, label, text)
    assert any(float(shown[f"{c}:Inbound"][0]) > 0 for c in ("phone", "chat", "social", "email"))

    hourly = await _report(metrics_url, day, "hour")
    want_bars = {
        datetime.fromisoformat(b["start"]): b["kpis"]["volume"]["counts"]["inbound"]
        for b in hourly["buckets"]
    }
    assert len(bars) == 24
    got_bars = {datetime.fromisoformat(start): float(value) for start, value in bars}
    for start in got_bars.keys() - want_bars.keys():
        assert got_bars[start] == 0, start
    for start, inbound in want_bars.items():
        assert got_bars[start] == inbound, start
    assert screenshot.stat().st_size > 10_000


async def test_the_dashboard_filters_its_figures_by_label(
    metrics_url: str, golden_day: Day, producer: EventProducer, database: Database
) -> None:
    day = golden_day
    # A label of this test's own on every third conversation of the golden day, from the
    # second on: never one the labels module labels (every third from the first), since a
    # label set replaces the conversation's labels and both are stamped the same time.
    label = f"vip-{uuid.uuid4().hex[:8]}"
    sets = [
        RoutingEvent(
            event_id=uuid.uuid4(),
            type=LifecycleStep.LABELED,
            occurred_at=day.start + timedelta(hours=23),
            conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, script.key),
            conversation_key=script.key,
            channel=Channel.CHAT,
            labels=[label],
        )
        for script in day.scripts[1::3]
    ]
    await publish(producer, sets)
    await wait_processed(database, [e.event_id for e in sets])

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            await page.goto(f"{metrics_url}/dashboard?day={day.start:%Y-%m-%d}#token={ADMIN_TOKEN}")
            await page.wait_for_selector("body[data-loaded='true']", timeout=20_000)
            # The labels of the day are offered; choosing one reloads every figure under it.
            await page.wait_for_selector(
                f"#label option[value='{label}']", state="attached", timeout=20_000
            )
            assert await page.is_visible("#label")
            whole = await page.get_attribute("[data-testid='chat:Conversations']", "data-value")
            await page.select_option("#label", label)
            await page.wait_for_selector(f"body[data-label='{label}']", timeout=20_000)
            cells = await page.eval_on_selector_all(
                ".value[data-testid]",
                "els => els.map(e => [e.dataset.testid, e.dataset.value, e.textContent])",
            )
            # The choice is in the address: a wall screen reloaded keeps it.
            assert f"label={label}" in page.url
            heading = await page.text_content("h1")
        finally:
            await browser.close()

    assert heading is not None
    assert label in heading
    shown = {testid: (value, text) for testid, value, text in cells}
    for channel in ("phone", "chat", "social", "email"):
        totals = (await _report(metrics_url, day, "day", channel=channel, label=label))["totals"]
        for row, (name, pick) in ROWS.items():
            want = pick(totals[name]) if row != "Inbound" else None
            value, text = shown[f"{channel}:{row}"]
            if want is None:
                assert (value, text) == ("", "\u2013"), (channel, row)
                continue
            assert float(value) == want, (channel, row)
            shown_value, precision = read_back(text)
            assert abs(shown_value - want) <= precision, (channel, row, text)
    # Fewer conversations than the whole day: the figures are the labeled ones.
    labeled = float(shown["chat:Conversations"][0] or 0)
    assert whole is not None
    assert 0 < labeled < float(whole)
