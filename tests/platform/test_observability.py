"""deploy/observability (alert rules, Grafana dashboard) read against what the code exports."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
#: Labels Prometheus adds to every series it scrapes (the ServiceMonitor's target).
TARGET_LABELS = {"job", "namespace", "pod", "instance", "service", "container", "endpoint"}
#: Series that are Prometheus' own, not a service's.
PROMETHEUS_SERIES = {"up"}
SELECTOR = re.compile(r"\b(switchboard_\w+|up)\b(\{[^}]*\})?")


def exported() -> dict[str, set[str]]:
    """Every series name the services export -> its label names.

    Found by importing every module of shared/ and services/ that uses prometheus_client,
    so a metric added anywhere is known here.
    """
    series: dict[str, set[str]] = {}
    for path in sorted([*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py")]):
        if "prometheus_client" not in path.read_text():
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for metric in vars(module).values():
            if not isinstance(metric, MetricWrapperBase):
                continue
            name, kind = metric._name, str(metric._type)
            labels = set(metric._labelnames)
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
            for suffix in suffixes.get(kind, [""]):
                series[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    expressions += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return expressions


def every_expression() -> list[str]:
    return [rule["expr"] for rule in alert_rules()] + dashboard_expressions()


def test_the_code_exports_what_the_operations_page_lists() -> None:
    series = exported()
    page = (ROOT / "docs" / "operations.md").read_text()
    for name in series:
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f"`{base}" in page, f"{base} is exported but docs/operations.md does not list it"
    assert "switchboard_consumer_lag" in series  # the search found the modules


@pytest.mark.parametrize("expression", every_expression())
def test_every_series_an_alert_or_panel_reads_is_exported_with_those_labels(
    expression: str,
) -> None:
    series = exported()
    found = SELECTOR.findall(expression)
    assert found, f"reads no Switchboard series: {expression}"
    for name, selector in found:
        if name in PROMETHEUS_SERIES:
            continue
        assert name in series, f"{name} is not exported by any service"
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selector))
        assert labels <= series[name] | TARGET_LABELS, f"{name} has no label {labels}"
    # Labels grouped by must exist on the series read (or be added by the scrape).
    names = [name for name, _ in found if name not in PROMETHEUS_SERIES]
    available = set.union(*(series[name] for name in names)) | TARGET_LABELS if names else set()
    for grouping in re.findall(r"\bby \(([^)]*)\)", expression):
        for label in (label.strip() for label in grouping.split(",")):
            assert label in available, f"grouped by {label}, which {names} do not carry"


def test_the_alerts_cover_what_operations_watches() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    watched = {
        "switchboard_consumer_lag": "SwitchboardConsumerLagHigh",
        "switchboard_events_dead_lettered_total": "SwitchboardDeadLetters",
        "switchboard_publish_failures_total": "SwitchboardPublishFailures",
        'route="/readyz"': "SwitchboardNotReady",
        "switchboard_backlog_longest_wait_seconds": "SwitchboardLongWait",
        "switchboard_service_level_last_hour_percent": "SwitchboardServiceLevelLow",
        "switchboard_consumer_rebuilds": "SwitchboardConsumerStalled",
        'outcome="uncertain"': "SwitchboardDeliveryUncertain",
    }
    for needle, alert in watched.items():
        assert needle in rules[alert]["expr"]
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0m"))
    # Each alert is explained on the operations page.
    page = (ROOT / "docs" / "operations.md").read_text()
    for alert in rules:
        assert f"`{alert}`" in page, f"docs/operations.md does not explain {alert}"


def test_the_dashboard_is_grafana_json_on_a_chosen_prometheus() -> None:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] == "switchboard"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            assert 'namespace="$namespace"' in target["expr"]
