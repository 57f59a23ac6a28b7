"""Alembic, once per service schema: ``python -m switchboard_dev.migrations upgrade [SERVICE...]``.

Each service keeps its migrations in ``services/<name>/migrations`` and its tables in its own
Postgres schema, with its own version table there; their ``env.py`` runs
:func:`shared.migrations.run_env`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db import async_url
from shared.settings import PlatformSettings
from switchboard_dev.services import SERVICES

__all__ = ["main", "upgrade"]

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def _config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    config.attributes["schema"] = service
    return config


def upgrade(url: str, services: tuple[str, ...] = SERVICES) -> None:
    """Apply every pending migration of ``services`` to the database at ``url``."""
    for service in services:
        command.upgrade(_config(service, url), "head")


def main() -> None:
    """The command line: upgrade the named services (all of them by default) at DATABASE_URL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["upgrade"])
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    args = parser.parse_args()
    upgrade(PlatformSettings().database_url, tuple(args.services))


if __name__ == "__main__":
    main()
