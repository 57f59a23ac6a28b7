"""An event published with acks=all comes back from the real broker unchanged."""

from __future__ import annotations

from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from shared.kafka import EventProducer, OutgoingRecord
from tests.factories import interaction
from tests.support.kafka import read_topic, with_field


async def test_event_round_trips_through_the_broker(broker: str, producer: EventProducer) -> None:
    event = interaction()
    await producer.publish(OutgoingRecord(INTERACTIONS_TOPIC, event.kafka_key, event.to_json()))

    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=with_field("event_id", {str(event.event_id)})
    )

    mine = [r for r in records if r.key == event.kafka_key]
    assert len(mine) == 1
    assert InteractionEvent.from_json(mine[0].value) == event


async def test_a_conversation_keeps_its_order_on_one_partition(
    broker: str, producer: EventProducer
) -> None:
    first = interaction()
    rest = [interaction(conversation_key=first.conversation_key) for _ in range(9)]
    events = [first, *rest]
    await producer.publish_many(
        [OutgoingRecord(INTERACTIONS_TOPIC, e.kafka_key, e.to_json()) for e in events]
    )

    wanted = {str(e.event_id) for e in events}
    records = await read_topic(broker, INTERACTIONS_TOPIC, until=with_field("event_id", wanted))

    mine = [r for r in records if r.key == first.kafka_key]
    assert len({r.partition for r in mine}) == 1
    assert [InteractionEvent.from_json(r.value).event_id for r in mine] == [
        e.event_id for e in events
    ]
