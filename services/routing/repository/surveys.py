"""Survey questions sent to customers, and their answers by reply."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import ConversationStatus
from services.routing.models import conversation, survey_question


@dataclass(frozen=True)
class OpenQuestion:
    """A survey question its customer may still answer by replying with a number."""

    conversation_id: uuid.UUID
    conversation_key: str
    kind: str
    expires_at: datetime
    channel: str
    customer_id: str
    customer_kind: str


class SurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def asked(
        self,
        *,
        conversation_id: uuid.UUID,
        conversation_key: str,
        kind: str,
        at: datetime,
        expires_at: datetime,
    ) -> None:
        """Record the question (a later one replaces the conversation's earlier one)."""
        values = {
            "conversation_id": conversation_id,
            "conversation_key": conversation_key,
            "kind": kind,
            "asked_at": at,
            "expires_at": expires_at,
            "answered_at": None,
        }
        statement = insert(survey_question).values(**values)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[survey_question.c.conversation_id],
                set_={
                    name: statement.excluded[name] for name in values if name != "conversation_id"
                },
            )
        )

    async def open_questions(self, keys: list[str]) -> dict[str, OpenQuestion]:
        """Per key, the unanswered question of a conversation still resolved, locked."""
        rows = await self._session.execute(
            select(
                survey_question.c.conversation_id,
                survey_question.c.conversation_key,
                survey_question.c.kind,
                survey_question.c.expires_at,
                conversation.c.channel,
                conversation.c.customer_id,
                conversation.c.customer_kind,
            )
            .join(conversation, conversation.c.id == survey_question.c.conversation_id)
            .where(
                survey_question.c.conversation_key.in_(sorted(keys)),
                survey_question.c.answered_at.is_(None),
                conversation.c.status == ConversationStatus.RESOLVED,
            )
            .order_by(survey_question.c.asked_at)
            .with_for_update(of=survey_question)
        )
        return {row.conversation_key: OpenQuestion(**row._mapping) for row in rows}

    async def answered(self, conversation_id: uuid.UUID, at: datetime) -> None:
        await self._session.execute(
            update(survey_question)
            .where(survey_question.c.conversation_id == conversation_id)
            .values(answered_at=at)
        )
