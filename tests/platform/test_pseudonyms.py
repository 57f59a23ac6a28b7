"""Pseudonyms: keyed, deterministic, never the raw value; production wants a real key."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from services.routing.settings import RoutingSettings
from shared.privacy import is_pseudonym, pseudonym

KEY = SecretStr("k7Hq2pX9vLw4mZ8rT3nB")


def test_the_same_value_always_gets_the_same_pseudonym() -> None:
    first = pseudonym(KEY, "ada@example.org")
    assert first == pseudonym(KEY, "ada@example.org")
    assert first != pseudonym(KEY, "grace@example.org")
    assert is_pseudonym(first)
    assert "ada" not in first


def test_a_pseudonym_depends_on_the_key() -> None:
    other = SecretStr("another-key-of-twenty")
    assert pseudonym(KEY, "+14155550100") != pseudonym(other, "+14155550100")


def test_a_pseudonym_is_not_hashed_again() -> None:
    once = pseudonym(KEY, "sms:+14155550100:+14155550101")
    assert pseudonym(KEY, once) == once


def test_production_refuses_the_development_pseudonym_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    monkeypatch.setenv("ROUTING_ADMIN_TOKEN", "k7Hq2pX9vLw4mZ8rT3nB-admin")
    monkeypatch.setenv("SWITCHBOARD_SURVEY_SECRET", "q8Zr4mW2nT6vX1pL-survey")
    with pytest.raises(ValueError, match=r"SWITCHBOARD_PSEUDONYM_SECRET .*placeholder"):
        RoutingSettings()
    monkeypatch.setenv("SWITCHBOARD_PSEUDONYM_SECRET", KEY.get_secret_value())
    assert RoutingSettings().pseudonym_secret == KEY
