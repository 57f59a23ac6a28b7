"""What a consumed batch costs the database: the same statements for one new conversation as
for many over several queues (none per conversation, none per queue)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from services.routing.handlers import InteractionConsumer
from services.routing.matching import Matcher
from services.routing.surveys import SurveyIssuer
from tests.factories import interaction
from tests.routing.support import Routing, routing_settings, tag

QUEUES = 3


async def test_a_batch_over_several_queues_costs_what_one_conversation_costs(
    routing: Routing,
) -> None:
    t = tag()
    providers = [f"{t}q{n}" for n in range(QUEUES)]
    for provider in providers:
        await routing.queue(providers=[provider], required_skills=[provider])
        await routing.agent(status="available", skills=[provider], capacity={"chat": 10})
    settings = routing_settings()
    consumer = InteractionConsumer(
        database=routing.database,
        settings=settings,
        matcher=Matcher(settings),
        published=lambda: None,
        more_to_match=lambda: None,
        surveys=SurveyIssuer(settings.survey_secret, timedelta(seconds=60)),
    )
    statements: list[str] = []

    def count(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
    ) -> None:
        statements.append(statement)

    engine = routing.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await consumer.handle([interaction(provider=providers[0])])
        alone = len(statements)
        statements.clear()
        batch = [interaction(provider=providers[n % QUEUES]) for n in range(4 * QUEUES)]
        await consumer.handle(batch)
        together = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    rows = await routing.sql(
        "SELECT count(*) AS n FROM routing.conversation "
        "WHERE provider LIKE :p AND status = 'offered'",
        p=f"{t}q%",
    )
    assert rows == [{"n": 1 + 4 * QUEUES}]
    assert together == alone, statements
