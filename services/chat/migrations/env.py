"""Alembic environment of the chat service: its tables live in schema `chat`."""

from services.chat.models import metadata
from shared.migrations import run_env

run_env(metadata)
