"""Tables of the email connector, in Postgres schema `email`."""

from shared.db import naming_metadata

metadata = naming_metadata("email")
