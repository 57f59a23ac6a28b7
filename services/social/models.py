"""Tables of the social connector, in Postgres schema `social`."""

from shared.db import naming_metadata

metadata = naming_metadata("social")
