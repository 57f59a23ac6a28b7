"""docker-compose.yml read against the code (no Docker engine here to run it)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shared.settings import PlatformSettings, ServiceSettings
from switchboard_dev.services import SERVICES
from switchboard_dev.stack import GRACEFUL_SHUTDOWN_S, service_command, service_ports

ROOT = Path(__file__).resolve().parents[2]
APPS = SERVICES


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def env_example() -> dict[str, str]:
    lines = (ROOT / "deploy" / "env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


def settings_classes(service: str) -> list[type[BaseSettings]]:
    try:
        module = importlib.import_module(f"services.{service}.settings")
    except ModuleNotFoundError:
        return []
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings) and cls is not ServiceSettings
    ]


def env_names(cls: type[BaseSettings]) -> dict[str, Any]:
    """Environment variable name -> field info, for every field of a settings class."""
    prefix = cls.model_config.get("env_prefix", "")
    names = {}
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names[alias if isinstance(alias, str) else f"{prefix}{name}".upper()] = field
    return names


def known_variables(service: str) -> set[str]:
    known = set(env_names(PlatformSettings))
    for cls in settings_classes(service):
        known |= set(env_names(cls))
    return known


def test_the_stack_has_kafka_postgres_migrations_and_six_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"kafka", "postgres", "migrate", *APPS}
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    migrate = compose["services"]["migrate"]
    assert migrate["command"][:3] == ["python", "-m", "switchboard_dev.migrations"]
    assert importlib.import_module("switchboard_dev.migrations").main
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", APPS)
def test_each_service_runs_its_own_app_on_its_port(compose: dict[str, Any], service: str) -> None:
    spec = compose["services"][service]
    command = spec["command"]
    assert command[:3] == ["uvicorn", "--factory", f"services.{service}.app:create_app"]
    module_name, _, attribute = command[2].partition(":")
    assert callable(getattr(importlib.import_module(module_name), attribute))
    container_port = command[command.index("--port") + 1]
    assert spec["ports"] == [f"{service_ports()[service]}:{container_port}"]
    assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
    assert spec["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/readyz" in " ".join(spec["healthcheck"]["test"])


@pytest.mark.parametrize("service", APPS)
def test_compose_waits_longer_than_uvicorn_for_a_graceful_stop(
    compose: dict[str, Any], service: str
) -> None:
    spec = compose["services"][service]
    command = spec["command"]
    graceful_s = float(command[command.index("--timeout-graceful-shutdown") + 1])
    # The same graceful timeout as make run, and time after it to drain consumers and
    # producers before Docker's SIGKILL.
    assert f"--timeout-graceful-shutdown {GRACEFUL_SHUTDOWN_S}" in service_command(service, 8000)
    assert graceful_s == GRACEFUL_SHUTDOWN_S
    # uvicorn buffers no WebSocket message larger than make run's limit.
    ws_max = command[command.index("--ws-max-size") + 1]
    assert f"--ws-max-size {ws_max}" in service_command(service, 8000)
    grace_period = spec["stop_grace_period"]
    assert grace_period.endswith("s")
    assert graceful_s + 5 <= float(grace_period.removesuffix("s")) <= graceful_s + 20


@pytest.mark.parametrize("service", APPS)
def test_every_variable_given_to_a_service_is_one_it_reads(
    compose: dict[str, Any], service: str
) -> None:
    spec = compose["services"][service]
    environment = spec["environment"]
    known = known_variables(service)
    assert set(environment) <= known
    # Apache Kafka supports what tansu does not.
    assert environment["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert environment["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert environment["SWITCHBOARD_ENV"] == "production"


@pytest.mark.parametrize("service", APPS)
def test_every_secret_of_a_service_is_in_the_env_example(service: str) -> None:
    example = env_example()
    for cls in settings_classes(service):
        for variable, field in env_names(cls).items():
            if field.annotation is SecretStr:
                assert variable in example, f"{variable} missing from deploy/env.example"


def test_the_env_example_names_only_real_variables() -> None:
    everything = {"POSTGRES_PASSWORD"}.union(*(known_variables(s) for s in APPS))
    assert set(env_example()) <= everything


def test_the_dockerfile_ships_the_code_and_exposes_the_port() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    for part in ("COPY shared", "COPY services", "COPY switchboard_dev", "EXPOSE 8000"):
        assert part in dockerfile
    # Every app the image runs has migrations, and the migrate job knows every one of them.
    assert {path.parent.name for path in (ROOT / "services").glob("*/migrations")} == set(APPS)
