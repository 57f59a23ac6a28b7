"""Alembic environment of the phone service: its tables live in schema `phone`."""

from services.phone.models import metadata
from shared.migrations import run_env

run_env(metadata)
