"""Alembic environment of the email service: its tables live in schema `email`."""

from services.email.models import metadata
from shared.migrations import run_env

run_env(metadata)
