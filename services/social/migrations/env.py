"""Alembic environment of the social service: its tables live in schema `social`."""

from services.social.models import metadata
from shared.migrations import run_env

run_env(metadata)
