"""Switchboard's common library: events, Kafka and database plumbing, the service frame."""
