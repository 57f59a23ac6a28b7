"""Alembic environment of the routing service: its tables live in schema `routing`."""

from services.routing.models import metadata
from shared.migrations import run_env

run_env(metadata)
