"""Kafka plumbing: topic creation, an acknowledged producer, a consumer-group loop."""

from shared.kafka.consumer import ConsumerLoop, Decoder, Handler
from shared.kafka.failures import describe_failure, is_transient
from shared.kafka.producer import (
    EventProducer,
    OutgoingRecord,
    interaction_record,
    publish_interactions,
)
from shared.kafka.topics import dead_letter_topic, ensure_topics

__all__ = [
    "ConsumerLoop",
    "Decoder",
    "EventProducer",
    "Handler",
    "OutgoingRecord",
    "dead_letter_topic",
    "describe_failure",
    "ensure_topics",
    "interaction_record",
    "is_transient",
    "publish_interactions",
]
