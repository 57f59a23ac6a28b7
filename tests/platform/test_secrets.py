"""Production refuses weak secrets, naming the variable; development takes anything."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from switchboard_dev.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
STRONG = "k7Hq2pX9vLw4mZ8rT3nB"


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

    token: SecretStr = Field(default=SecretStr("dev-demo-token"))
    # Empty by default: the feature it unlocks is off until it is set.
    optional_key: SecretStr = Field(default=SecretStr(""))


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    return monkeypatch


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("dev-demo-token", "development placeholder"),
        ("change-me", "change-me"),
        ("Change-Me-Before-Deploying-Please", "change-me"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("fifteen-chars!!", "shorter than 16"),
    ],
)
def test_production_refuses_a_weak_secret_naming_its_variable(
    production: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    production.setenv("DEMO_TOKEN", value)
    with pytest.raises(ValueError, match=f"DEMO_TOKEN .*{problem}"):
        DemoSettings()


def test_production_takes_a_strong_secret_and_an_optional_one_left_empty(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("DEMO_TOKEN", STRONG)
    settings = DemoSettings()
    assert settings.token.get_secret_value() == STRONG
    assert settings.optional_key.get_secret_value() == ""


def test_an_optional_secret_once_set_must_be_strong(production: pytest.MonkeyPatch) -> None:
    production.setenv("DEMO_TOKEN", STRONG)
    production.setenv("DEMO_OPTIONAL_KEY", "short")
    with pytest.raises(ValueError, match="DEMO_OPTIONAL_KEY is shorter than 16"):
        DemoSettings()


def test_development_takes_any_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_ENV", raising=False)
    monkeypatch.setenv("DEMO_TOKEN", "")
    assert DemoSettings().token.get_secret_value() == ""


def env_example() -> dict[str, str]:
    lines = (ROOT / "deploy" / "env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name: value for name, value in pairs}


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_starts_in_production_with_the_env_example_as_it_ships(
    production: pytest.MonkeyPatch, service: str
) -> None:
    for name, value in env_example().items():
        production.setenv(name, value)
    module = importlib.import_module(f"services.{service}.settings")
    classes = [
        cls
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, ServiceSettings) and cls is not ServiceSettings
    ]
    assert classes
    for cls in classes:
        with pytest.raises(ValueError, match="change-me placeholder"):
            cls()
