"""The unit of work: one routing transaction, its repositories and what it publishes.

Everything routing does to the database happens inside one: the consumer's batches, the
worker's passes and every endpoint. Its lifecycle steps are flushed into the outbox (and
its agent notices into NOTIFY) just before the commit, so they leave only if it commits.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Concatenate, ParamSpec, Self, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import activity
from services.routing.domain import Conversation
from services.routing.lifecycle import Steps
from services.routing.models import processed_event
from services.routing.repository.agents import AgentRepository
from services.routing.repository.canned import CannedRepository
from services.routing.repository.console import ConsoleRepository
from services.routing.repository.contacts import ContactRepository
from services.routing.repository.conversations import ConversationRepository
from services.routing.repository.credentials import CredentialRepository
from services.routing.repository.labels import LabelRepository
from services.routing.repository.messages import MessageRepository
from services.routing.repository.notices import NoticeRepository
from services.routing.repository.offers import OfferRepository
from services.routing.repository.queues import QueueRepository
from services.routing.repository.sessions import SessionRepository
from services.routing.repository.surveys import SurveyRepository
from services.routing.repository.work import WorkRepository
from services.routing.surveys import SurveyIssuer
from shared.db import Database, claim_events

P = ParamSpec("P")
T = TypeVar("T")

#: SQLSTATEs of a deadlock and a serialization failure: the transaction may simply run again.
RETRYABLE_STATES = frozenset({"40P01", "40001"})

#: How many times :meth:`UnitOfWork.run` tries a transaction Postgres aborted.
ATTEMPTS = 5


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "pgcode", None) in RETRYABLE_STATES


class UnitOfWork:
    """One transaction at a time: ``async with uow:`` opens it and commits it on a clean exit.

    ``published`` is called after a commit that published lifecycle events (to wake the
    outbox relay, and whoever else waits for them); ``surveys`` signs the survey tokens of
    the conversations it resolves.
    """

    session: AsyncSession
    steps: Steps
    agents: AgentRepository
    contacts: ContactRepository
    credentials: CredentialRepository
    conversations: ConversationRepository
    messages: MessageRepository
    notices: NoticeRepository
    offers: OfferRepository
    queues: QueueRepository
    sessions: SessionRepository
    canned: CannedRepository
    console: ConsoleRepository
    work: WorkRepository
    survey_questions: SurveyRepository
    labels: LabelRepository

    def __init__(
        self,
        database: Database,
        *,
        published: Callable[[], None] | None = None,
        surveys: SurveyIssuer | None = None,
    ) -> None:
        self._database = database
        self._published = published
        self._surveys = surveys

    async def __aenter__(self) -> Self:
        self._transaction = self._database.transaction()
        self.session = await self._transaction.__aenter__()
        self.steps = Steps(surveys=self._surveys)
        self.agents = AgentRepository(self.session)
        self.contacts = ContactRepository(self.session)
        self.credentials = CredentialRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.messages = MessageRepository(self.session)
        self.notices = NoticeRepository(self.session)
        self.offers = OfferRepository(self.session)
        self.queues = QueueRepository(self.session)
        self.sessions = SessionRepository(self.session)
        self.canned = CannedRepository(self.session)
        self.console = ConsoleRepository(self.session)
        self.work = WorkRepository(self.session)
        self.survey_questions = SurveyRepository(self.session)
        self.labels = LabelRepository(self.session)
        self._touched: dict[uuid.UUID, datetime] = {}
        #: Conversations this transaction opened or reopened (for the out-of-hours reply).
        self.openings: list[Conversation] = []
        return self

    @property
    def surveys(self) -> SurveyIssuer | None:
        """Signs survey tokens (and knows where questions go); None where none is set up."""
        return self._surveys

    def touch(self, agent_id: uuid.UUID, at: datetime) -> None:
        """The agent's holdings, status or wrap-ups changed at ``at`` (the agent is locked):
        their activity is worked out again before the commit."""
        previous = self._touched.get(agent_id)
        self._touched[agent_id] = at if previous is None else max(previous, at)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            try:
                if self._touched:
                    await activity.refresh(self.agents, self.work, self.steps, self._touched)
                await self.steps.flush(self.session)
            except BaseException as exc:
                await self._transaction.__aexit__(type(exc), exc, exc.__traceback__)
                raise
        await self._transaction.__aexit__(kind, error, traceback)
        if error is None and self.steps.records and self._published is not None:
            self._published()

    async def claim(self, event_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Record these event ids as processed; those not processed before."""
        return await claim_events(self.session, processed_event, event_ids)

    async def run(
        self,
        work: Callable[Concatenate[Self, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``work(uow, ...)`` in one transaction, run again on a deadlock.

        Two transactions that lock the same conversations and agents in different orders
        (an agent going offline while another accepts) can deadlock; Postgres aborts one.
        """
        for attempt in range(ATTEMPTS):
            try:
                async with self:
                    return await work(self, *args, **kwargs)
            except DBAPIError as exc:
                if not _retryable(exc) or attempt == ATTEMPTS - 1:
                    raise
            await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")
