"""Fixtures shared by the service tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import ProviderEmulator, running_emulator

#: The provider payloads beside the checkout (read-only, shared with the other repos).
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


@pytest.fixture(scope="session")
def provider_fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"provider fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def fixture_secrets(provider_fixtures: Path) -> dict[str, str]:
    secrets: dict[str, str] = json.loads((provider_fixtures / "secrets.json").read_text())
    return secrets


@pytest.fixture(scope="session")
def fixture_manifest(provider_fixtures: Path) -> dict[str, dict[str, Any]]:
    entries = json.loads((provider_fixtures / "manifest.json").read_text())
    return {entry["file"]: entry for entry in entries}


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[ProviderEmulator]:
    """A provider emulator for the module: a real HTTP server recording every request."""
    async with running_emulator() as running:
        yield running
