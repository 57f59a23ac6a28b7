"""Tables of the chat connector, in Postgres schema `chat`."""

from shared.db import naming_metadata

metadata = naming_metadata("chat")
