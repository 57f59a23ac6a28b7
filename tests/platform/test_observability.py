"""deploy/observability (alert rules, Grafana dashboard) read against what the code exports."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
#: Labels Prometheus adds to every series it scrapes (the ServiceMonitor's target).
TARGET_LABELS = {"job", "namespace", "pod", "instance", "service", "container", "endpoint"}
#: Series that are Prometheus' own, not a service's.
PROMETHEUS_SERIES = {"up"}
#: Grafana's variables, given values so that a panel's query parses as PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": "switchboard"}


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
    """Every panel's PromQL, Grafana's variables replaced by values."""
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for variable, value in GRAFANA_VARIABLES.items():
        expressions = [expression.replace(variable, value) for expression in expressions]
    return expressions


def every_expression() -> list[str]:
    return [rule["expr"] for rule in alert_rules()] + dashboard_expressions()


#: Where a parsed PromQL node keeps the nodes under it (besides a call's ``args``).
CHILDREN = ("lhs", "rhs", "expr", "vector_selector")


def selectors(node: Any) -> list[Any]:
    """The vector selectors under a parsed PromQL node (the series it reads)."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    found: list[Any] = []
    for child in CHILDREN:
        if getattr(node, child, None) is not None:
            found += selectors(getattr(node, child))
    for argument in getattr(node, "args", None) or []:
        found += selectors(argument)
    return found


def groupings(node: Any) -> list[tuple[list[str], list[Any]]]:
    """(labels aggregated by, the selectors aggregated) of every ``by`` under ``node``."""
    found: list[tuple[list[str], list[Any]]] = []
    if isinstance(node, promql_parser.AggregateExpr):
        modifier = node.modifier
        if modifier is not None and modifier.type == promql_parser.AggModifierType.By:
            found.append((list(modifier.labels), selectors(node.expr)))
    for child in CHILDREN:
        if getattr(node, child, None) is not None:
            found += groupings(getattr(node, child))
    for argument in getattr(node, "args", None) or []:
        found += groupings(argument)
    return found


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
    parsed = promql_parser.parse(expression)  # a syntax error fails here
    read = selectors(parsed)
    assert read, f"reads no series: {expression}"
    for selector in read:
        if selector.name in PROMETHEUS_SERIES:
            continue
        assert selector.name in series, f"{selector.name} is not exported by any service"
        labels = {matcher.name for matcher in selector.matchers.matchers}
        assert labels <= series[selector.name] | TARGET_LABELS, f"{selector.name}: {labels}"
    # Labels aggregated by must be carried by the series aggregated (or added by the scrape).
    for by_labels, aggregated in groupings(parsed):
        carried = set(TARGET_LABELS)
        for selector in aggregated:
            carried |= series.get(selector.name, set())
        assert set(by_labels) <= carried, f"by {by_labels} over {[s.name for s in aggregated]}"


def test_the_checks_catch_an_unknown_series_a_wrong_label_and_bad_syntax() -> None:
    series = exported()
    (lag,) = selectors(promql_parser.parse("sum by (group) (switchboard_consumer_lag)"))
    assert lag.name in series
    (typo,) = selectors(promql_parser.parse("switchboard_consumer_lags"))
    assert typo.name not in series
    (labelled,) = selectors(promql_parser.parse('switchboard_consumer_lag{status="x"}'))
    assert "status" not in series[labelled.name]
    ((labels, aggregated),) = groupings(
        promql_parser.parse("sum by (provider) (rate(switchboard_events_published_total[5m]))")
    )
    assert labels == ["provider"]
    assert "provider" not in series[aggregated[0].name]
    with pytest.raises(ValueError, match="parenthesis"):
        promql_parser.parse("sum by (group (switchboard_consumer_lag")


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
    # The namespace variable lists the namespaces the services' series come from.
    (namespace,) = [v for v in dashboard["templating"]["list"] if v["name"] == "namespace"]
    assert namespace["definition"] == "label_values(switchboard_http_requests_total, namespace)"
    assert "switchboard_http_requests_total" in exported()
