"""Tables of the phone connector, in Postgres schema `phone`."""

from shared.db import naming_metadata

metadata = naming_metadata("phone")
