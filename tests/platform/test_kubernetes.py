"""deploy/k8s read against the Kubernetes API's schemas and against the code (offline).

The production overlay is rendered by tests/support/kustomize.py and every resource is
checked with kubernetes-validate, strict (an unknown field fails). ScaledObject and
ServiceMonitor are custom resources whose schemas no dependency ships: the tests below check
the fields of theirs that Switchboard relies on.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from services.metrics.settings import MetricsSettings
from services.routing.settings import RoutingSettings
from shared.events.interaction import INTERACTIONS_TOPIC
from shared.events.routing import ROUTING_TOPIC
from shared.settings import PlatformSettings
from switchboard_dev.services import SERVICES
from switchboard_dev.stack import GRACEFUL_SHUTDOWN_S
from tests.platform.test_compose import env_names, known_variables, settings_classes
from tests.support.kustomize import render
from tests.support.readme import section

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
#: The oldest Kubernetes the manifests are checked against.
KUBERNETES_VERSION = "1.30.0"
CONNECTORS = ("email", "social", "chat", "phone")
CUSTOM = {"ScaledObject", "ServiceMonitor"}

Resource = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> list[Resource]:
    return render(K8S / "overlays" / "production")


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector selects ``labels``."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"])
        if expression["operator"] == "In" and present not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and present in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("directory", ["base", "overlays/production"])
def test_every_manifest_is_valid_for_the_kubernetes_api(directory: str) -> None:
    resources = render(K8S / directory)
    assert {r["kind"] for r in resources} >= {
        "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job",
        "NetworkPolicy", "ConfigMap", "ScaledObject", "ServiceMonitor",
    }  # fmt: skip
    for resource in resources:
        if resource["kind"] in CUSTOM:
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_broken_manifest(rendered: list[Resource]) -> None:
    broken = one(rendered, "Deployment", "chat")
    broken = {**broken, "spec": {**broken["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    unknown = {**one(rendered, "Service", "chat"), "extra": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSION, strict=True)


def test_everything_lands_in_the_namespace_with_the_released_image(
    rendered: list[Resource],
) -> None:
    for resource in rendered:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == "switchboard"
        assert resource["metadata"]["labels"]["app.kubernetes.io/part-of"] == "switchboard"
    images = {
        container["image"]
        for resource in rendered
        if resource["kind"] in {"Deployment", "Job"}
        for container in (
            resource["spec"]["template"]["spec"]["containers"]
            + resource["spec"]["template"]["spec"].get("initContainers", [])
        )
    }
    assert images == {"switchboard:0.1.0"}


def container_env(rendered: list[Resource], container: dict[str, Any]) -> dict[str, Any]:
    """Every variable a container gets: its env, and the ConfigMaps it takes whole."""
    env = {item["name"]: item for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, "secrets are named one by one (secretKeyRef)"
        config = one(rendered, "ConfigMap", source["configMapRef"]["name"])
        env.update({name: {"name": name, "value": value} for name, value in config["data"].items()})
    return env


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_a_deployment_sets_is_one_the_code_reads(
    rendered: list[Resource], service: str
) -> None:
    pod = one(rendered, "Deployment", service)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = container_env(rendered, container)
    assert set(env) <= known_variables(service)
    assert env["SWITCHBOARD_ENV"]["value"] == "production"
    assert env["KAFKA_ENABLE_IDEMPOTENCE"]["value"] == "true"
    # The same uvicorn command as compose (whose test ties it to make run's).
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert container["command"] == compose["services"][service]["command"]
    # Before it starts, an init container waits for its schema, with its own credentials.
    (init,) = pod["initContainers"]
    assert init["command"] == [
        "python", "-m", "switchboard_dev.migrations", "wait", service, "--timeout", "600",
    ]  # fmt: skip
    assert init["env"] == [env["DATABASE_URL"]]


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_are_referenced_never_inlined(rendered: list[Resource], service: str) -> None:
    assert not [r for r in rendered if r["kind"] == "Secret"]
    (container,) = one(rendered, "Deployment", service)["spec"]["template"]["spec"]["containers"]
    env = container_env(rendered, container)
    secrets = {"DATABASE_URL": None, **env_names(PlatformSettings)}
    for cls in settings_classes(service):
        secrets.update(env_names(cls))
    for variable, field in secrets.items():
        if field is not None and field.annotation is not SecretStr:
            continue
        if field is not None and variable not in env:
            # Every secret the service reads is given (the scrape token included).
            pytest.fail(f"{service} is not given {variable}")
        reference = env[variable]["valueFrom"]["secretKeyRef"]
        assert "value" not in env[variable]
        # A secret whose default is empty turns a feature on: optional; the others required,
        # and the scrape token too (the ServiceMonitor scrapes with it).
        default = None if field is None else field.default
        optional = isinstance(default, SecretStr) and not default.get_secret_value()
        optional = optional and variable != "SWITCHBOARD_SCRAPE_TOKEN"
        assert reference.get("optional", False) is optional, variable
        assert reference["name"].startswith("switchboard-")


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_has_probes_resources_and_time_to_drain(
    rendered: list[Resource], service: str
) -> None:
    pod = one(rendered, "Deployment", service)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    for each in (container, *pod["initContainers"]):
        assert set(each["resources"]) == {"requests", "limits"}
        assert each["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    # Removed from the Service first (preStop), then uvicorn's graceful stop, then the drain.
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + GRACEFUL_SHUTDOWN_S + 10
    budget = one(rendered, "PodDisruptionBudget", service)["spec"]
    assert budget["maxUnavailable"] == 1
    assert matches(budget["selector"], one(rendered, "Deployment", service)["metadata"]["labels"])


@pytest.mark.parametrize("service", CONNECTORS)
def test_the_connectors_scale_on_cpu(rendered: list[Resource], service: str) -> None:
    autoscaler = one(rendered, "HorizontalPodAutoscaler", service)["spec"]
    assert autoscaler["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": service,
    }  # fmt: skip
    assert 2 <= autoscaler["minReplicas"] < autoscaler["maxReplicas"]


@pytest.mark.parametrize(
    ("service", "group", "topics"),
    [
        ("routing", RoutingSettings().consumer_group, {INTERACTIONS_TOPIC}),
        ("metrics", MetricsSettings().consumer_group, {INTERACTIONS_TOPIC, ROUTING_TOPIC}),
    ],
)
def test_routing_and_metrics_scale_on_their_consumer_lag(
    rendered: list[Resource], service: str, group: str, topics: set[str]
) -> None:
    scaled = one(rendered, "ScaledObject", service)
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"] == {"name": service}
    # KEDA owns their autoscaler; a second one would fight it.
    assert not [
        r for r in rendered if r["kind"] == "HorizontalPodAutoscaler"
        and r["spec"]["scaleTargetRef"]["name"] == service
    ]  # fmt: skip
    bootstrap = one(rendered, "ConfigMap", "switchboard-platform")["data"]
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"kafka"}
    assert {t["metadata"]["topic"] for t in triggers} == topics
    for trigger in triggers:
        assert trigger["metadata"]["consumerGroup"] == group
        assert trigger["metadata"]["bootstrapServers"] == bootstrap["KAFKA_BOOTSTRAP_SERVERS"]
        assert int(trigger["metadata"]["lagThreshold"]) > 0
    # No more members than partitions: the extra ones would get none.
    partitions = int(
        bootstrap.get("KAFKA_TOPIC_PARTITIONS", PlatformSettings().kafka_topic_partitions)
    )
    assert 2 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"] <= partitions


def test_the_migrations_job_runs_as_the_owner(rendered: list[Resource]) -> None:
    job = one(rendered, "Job", "switchboard-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "switchboard_dev.migrations", "upgrade"]
    env = container_env(rendered, container)
    assert set(env) <= set(env_names(PlatformSettings))
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "switchboard-migrate", "key": "DATABASE_URL",
    }  # fmt: skip
    # Each service's own secret, not the owner's.
    for service in SERVICES:
        pod = one(rendered, "Deployment", service)["spec"]["template"]["spec"]
        reference = container_env(rendered, pod["containers"][0])["DATABASE_URL"]
        assert reference["valueFrom"]["secretKeyRef"]["name"] == f"switchboard-{service}"


def pod_labels(rendered: list[Resource]) -> dict[str, dict[str, str]]:
    return {
        r["metadata"]["name"]: r["spec"]["template"]["metadata"]["labels"]
        for r in rendered
        if r["kind"] in {"Deployment", "Job"}
    }


def allowed(rendered: list[Resource], labels: dict[str, str], direction: str) -> list[Any]:
    """The rules of every NetworkPolicy that selects a pod with ``labels`` in ``direction``."""
    rules: list[Any] = []
    for policy in (r for r in rendered if r["kind"] == "NetworkPolicy"):
        if direction in policy["spec"]["policyTypes"] and matches(
            policy["spec"]["podSelector"], labels
        ):
            rules += policy["spec"].get(direction.lower(), [])
    return rules


def egress_ports(rendered: list[Resource], labels: dict[str, str]) -> set[int]:
    ports: set[int] = set()
    for rule in allowed(rendered, labels, "Egress"):
        for port in rule.get("ports", []):
            ports.update(range(port["port"], port.get("endPort", port["port"]) + 1))
    return ports


def test_network_policies_deny_everything_else(rendered: list[Resource]) -> None:
    deny = one(rendered, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    pods = pod_labels(rendered)
    kafka, postgres, dns = 9092, 5432, 53
    for name in CONNECTORS:
        assert {kafka, postgres, dns, 443} <= egress_ports(rendered, pods[name])
    for name in ("routing", "metrics"):
        # No provider to call: no way out but Kafka, Postgres and DNS.
        assert egress_ports(rendered, pods[name]) - set(range(9092, 9097)) == {postgres, dns}
    assert egress_ports(rendered, pods["switchboard-migrate"]) == {postgres, dns}
    assert egress_ports(rendered, pods["email"]) - egress_ports(rendered, pods["chat"]) == {
        587, 465,
    }  # fmt: skip
    # The way to the providers never leads into the private ranges (the cluster itself).
    for rule in allowed(rendered, pods["chat"], "Egress"):
        if any(port["port"] == 443 for port in rule.get("ports", [])):
            (block,) = rule["to"]
            excluded = [ipaddress.ip_network(cidr) for cidr in block["ipBlock"]["except"]]
            assert ipaddress.ip_network("10.0.0.0/8") in excluded


def test_only_the_ingress_and_prometheus_reach_the_services(rendered: list[Resource]) -> None:
    pods = pod_labels(rendered)
    for name in SERVICES:
        sources = [
            peer for rule in allowed(rendered, pods[name], "Ingress") for peer in rule["from"]
        ]
        assert sources == [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                }
            },
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        ]
    assert allowed(rendered, pods["switchboard-migrate"], "Ingress") == []
    ingress = one(rendered, "Ingress", "switchboard")["spec"]
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == set(SERVICES)


def test_prometheus_scrapes_with_the_scrape_token(rendered: list[Resource]) -> None:
    monitor = one(rendered, "ServiceMonitor", "switchboard")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["authorization"]["type"] == "Bearer"
    credentials = endpoint["authorization"]["credentials"]
    for service in SERVICES:
        svc = one(rendered, "Service", service)
        assert matches(monitor["spec"]["selector"], svc["metadata"]["labels"])
        assert endpoint["port"] in {port["name"] for port in svc["spec"]["ports"]}
        (container,) = one(rendered, "Deployment", service)["spec"]["template"]["spec"][
            "containers"
        ]
        token = container_env(rendered, container)["SWITCHBOARD_SCRAPE_TOKEN"]
        # The very Secret the services check the token against.
        assert token["valueFrom"]["secretKeyRef"] == credentials


def test_the_deployment_page_lists_every_secret_the_manifests_reference(
    rendered: list[Resource],
) -> None:
    names: set[str] = {"switchboard-tls"}  # the Ingress's certificate
    for resource in rendered:
        if resource["kind"] not in {"Deployment", "Job"}:
            continue
        pod = resource["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            for item in container.get("env", []):
                if "valueFrom" in item:
                    names.add(item["valueFrom"]["secretKeyRef"]["name"])
    credentials = one(rendered, "ServiceMonitor", "switchboard")["spec"]["endpoints"][0]
    names.add(credentials["authorization"]["credentials"]["name"])
    page = section("Deploy on Kubernetes", "docs/deployment.md")
    for name in names:
        documented = name.replace(name.removeprefix("switchboard-"), "<service>")
        assert f"`{name}`" in page or (
            name.removeprefix("switchboard-") in SERVICES and f"`{documented}`" in page
        ), f"docs/deployment.md does not say how to create the Secret {name}"
