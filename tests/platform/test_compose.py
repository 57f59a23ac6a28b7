"""docker-compose.yml read against the code (no Docker engine here to run it)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from shared.settings import PlatformSettings, ServiceSettings
from switchboard_dev.services import SERVICES
from switchboard_dev.stack import GRACEFUL_SHUTDOWN_S, service_command, service_ports
from tests.support.readme import shell_blocks

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


#: ``${NAME}``, ``${NAME:?message}``, ``${NAME:-default}``: what compose interpolates.
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[?-])([^}]*))?\}")


def interpolated_names() -> set[str]:
    """Every variable docker-compose.yml takes from the shell or the project's .env."""
    return {found[0] for found in INTERPOLATION.findall((ROOT / "docker-compose.yml").read_text())}


#: The database role each service connects as, and the .env variable holding its password.
def database_role(service: str) -> tuple[str, str]:
    return f"switchboard_{service}", f"POSTGRES_{service.upper()}_PASSWORD"


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
    # The one service that builds the image, and never pulls one of that name.
    assert migrate["build"]["dockerfile"] == "deploy/Dockerfile"
    assert migrate["pull_policy"] == "build"
    assert [name for name, spec in compose["services"].items() if "build" in spec] == ["migrate"]


@pytest.mark.parametrize("service", APPS)
def test_each_service_runs_its_own_app_on_its_port(compose: dict[str, Any], service: str) -> None:
    spec = compose["services"][service]
    command = spec["command"]
    assert command[:3] == ["uvicorn", "--factory", f"services.{service}.app:create_app"]
    module_name, _, attribute = command[2].partition(":")
    assert callable(getattr(importlib.import_module(module_name), attribute))
    container_port = command[command.index("--port") + 1]
    assert spec["ports"] == [f"{service_ports()[service]}:{container_port}"]
    # The image migrate builds, never pulled (a registry's switchboard:latest is not ours).
    assert "build" not in spec
    assert spec["image"] == compose["services"]["migrate"]["image"]
    assert spec["pull_policy"] == "never"
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
def test_each_service_connects_as_its_own_database_role(
    compose: dict[str, Any], service: str
) -> None:
    role, password = database_role(service)
    url = compose["services"][service]["environment"]["DATABASE_URL"]
    assert url == (
        f"postgresql+asyncpg://{role}:${{{password}:?set it in .env}}@postgres:5432/switchboard"
    )
    # The Postgres container gets the password to create the role with (roles.sh).
    postgres = compose["services"]["postgres"]
    assert postgres["environment"][password] == f"${{{password}:?set it in .env}}"
    script = (ROOT / "deploy" / "postgres" / "roles.sh").read_text()
    assert f'-v {service}_password="${password}"' in script
    assert f":'{service}_password'" in (ROOT / "deploy" / "postgres" / "roles.sql").read_text()


def test_migrations_run_as_the_schemas_owner_and_postgres_creates_the_roles(
    compose: dict[str, Any],
) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["environment"]["DATABASE_URL"].startswith(
        "postgresql+asyncpg://switchboard_owner:${POSTGRES_OWNER_PASSWORD:?"
    )
    script = (ROOT / "deploy" / "postgres" / "roles.sh").read_text()
    assert "-v prefix=switchboard " in script
    assert "-f /switchboard/roles.sql" in script
    mounts = compose["services"]["postgres"]["volumes"]
    assert "./deploy/postgres/roles.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro" in mounts
    assert "./deploy/postgres/roles.sql:/switchboard/roles.sql:ro" in mounts


def test_kafka_keeps_its_log_on_the_volume(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    # Without KAFKA_LOG_DIRS the image writes to /tmp/kraft-combined-logs, which a new
    # container does not have: every record would be lost with the container.
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"].split(",")
    mounted = {volume.split(":", 1)[1] for volume in kafka["volumes"]}
    for log_dir in log_dirs:
        assert any(log_dir == m or log_dir.startswith(m.rstrip("/") + "/") for m in mounted)
    assert set(compose["volumes"]) >= {volume.split(":", 1)[0] for volume in kafka["volumes"]}


def test_the_documented_commands_bring_the_stack_up_as_written(compose: dict[str, Any]) -> None:
    # The docs copy the example to .env beside docker-compose.yml, the file compose reads by
    # itself for ${...}: a plain `docker compose up --build` (or stop, logs, down) finds every
    # variable, and the services get the same file as their env_file.
    commands = "".join(shell_blocks("Deploy with compose", "docs/deployment.md")).splitlines()
    commands = [line.split("#", 1)[0].strip() for line in commands]
    assert "cp deploy/env.example .env" in commands
    assert "docker compose up --build" in commands
    for service in APPS:
        assert compose["services"][service]["env_file"] == ".env"
    example = env_example()
    for found in INTERPOLATION.finditer((ROOT / "docker-compose.yml").read_text()):
        name, operator, _ = found.groups()
        # Required (:?) and found in a copy of the example; nothing falls back silently.
        assert operator == ":?", found.group(0)
        assert name in example, f"{name} is interpolated but not in deploy/env.example"
    # The copy is never committed, nor sent to the image's build.
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


@pytest.mark.parametrize("service", APPS)
def test_every_secret_of_a_service_is_in_the_env_example(service: str) -> None:
    example = env_example()
    for cls in settings_classes(service):
        for variable, field in env_names(cls).items():
            if field.annotation is SecretStr:
                assert variable in example, f"{variable} missing from deploy/env.example"


def test_the_env_example_names_only_real_variables() -> None:
    # The services' variables, and the database passwords compose interpolates.
    everything = interpolated_names().union(*(known_variables(s) for s in APPS))
    assert set(env_example()) <= everything
    assert {name for name in env_example() if name.startswith("POSTGRES_")} == {
        "POSTGRES_PASSWORD",
        "POSTGRES_OWNER_PASSWORD",
        *(database_role(service)[1] for service in APPS),
    }


def test_the_dockerfile_ships_the_code_and_exposes_the_port() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    # A pinned base: an exact Python release, and the digest of its image index.
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, flags=re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base.group(1))
    # Two stages: the build (dependencies from the lock, hashes checked, before any code,
    # so a code change reuses that layer), then the runtime.
    stages = re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS (\w+)$", dockerfile, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    lock_install = dockerfile.index("pip install --require-hashes --no-deps -r requirements.lock")
    assert dockerfile.index("COPY requirements.lock") < lock_install
    for part in ("COPY shared", "COPY services", "COPY switchboard_dev"):
        assert lock_install < dockerfile.index(part)
    runtime = dockerfile[dockerfile.index("AS runtime") :]
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert "USER 10001" in runtime
    assert "EXPOSE 8000" in runtime
    # Every app the image runs has migrations, and the migrate job knows every one of them.
    assert {path.parent.name for path in (ROOT / "services").glob("*/migrations")} == set(APPS)
