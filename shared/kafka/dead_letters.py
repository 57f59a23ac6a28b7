"""Dead-letter records: what the consumer loop writes to ``<topic>.dlq`` and how it is replayed.

A dead-lettered record keeps the original key, value and headers; headers named
``dlq.*`` are added to say where it came from and why it failed.
"""

from __future__ import annotations

from aiokafka import ConsumerRecord

from shared.clock import utc_now
from shared.kafka.producer import OutgoingRecord
from shared.kafka.topics import DLQ_SUFFIX, dead_letter_topic

__all__ = [
    "DLQ_HEADER_PREFIX",
    "VALUE_DROPPED_HEADER",
    "dead_letter_record",
    "original_topic",
    "replay_record",
    "without_value",
]

DLQ_HEADER_PREFIX = "dlq."
#: Set, to the value's size in bytes, when the value was too large to be dead-lettered.
VALUE_DROPPED_HEADER = "dlq.value_dropped"


def dead_letter_record(record: ConsumerRecord, *, group_id: str, error: str) -> OutgoingRecord:
    """``record`` for its dead-letter topic, with headers saying where it came from and why."""
    kept = tuple(
        (name, bytes(value))
        for name, value in record.headers
        if not name.startswith(DLQ_HEADER_PREFIX)
    )
    headers = (
        *kept,
        ("dlq.error", error[:2000].encode()),
        ("dlq.consumer", group_id.encode()),
        ("dlq.topic", record.topic.encode()),
        ("dlq.partition", str(record.partition).encode()),
        ("dlq.offset", str(record.offset).encode()),
        ("dlq.failed_at", utc_now().isoformat().encode()),
    )
    return OutgoingRecord(dead_letter_topic(record.topic), record.key, record.value, headers)


def without_value(outgoing: OutgoingRecord) -> OutgoingRecord:
    """``outgoing`` with an empty value and a header giving the size of the one dropped.

    A record larger than the producer may send cannot be dead-lettered whole; retrying
    would never succeed, and the key and headers still say which record it was.
    """
    headers = (*outgoing.headers, (VALUE_DROPPED_HEADER, str(len(outgoing.value)).encode()))
    return OutgoingRecord(outgoing.topic, outgoing.key, b"", headers)


def original_topic(record: ConsumerRecord) -> str:
    """The topic a dead-lettered record failed on: its ``dlq.topic`` header, or the DLQ's name
    without its suffix."""
    for name, value in record.headers:
        if name == "dlq.topic" and value:
            return bytes(value).decode()
    topic: str = record.topic
    return topic.removesuffix(DLQ_SUFFIX)


def replay_record(record: ConsumerRecord) -> OutgoingRecord | None:
    """A dead-lettered record as it was first published: original topic, key, value and
    headers, without the ``dlq.*`` ones. None when its value was dropped (nothing to replay)."""
    headers = tuple((name, bytes(value)) for name, value in record.headers)
    if any(name == VALUE_DROPPED_HEADER for name, _ in headers):
        return None
    kept = tuple((name, value) for name, value in headers if not name.startswith(DLQ_HEADER_PREFIX))
    return OutgoingRecord(original_topic(record), record.key, record.value or b"", kept)
