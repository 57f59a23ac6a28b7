"""What each agent is doing, announced to metrics for occupancy (``agent.activity_changed``).

Occupancy is measured from work: the time an agent handles at least one contact or is in
wrap-up, over that time plus the time they are available and idle. Routing knows both, so
at the end of every transaction that changed an agent's holdings, status or wrap-ups it
works out the agent's activity and publishes what changed:

- overall (no ``channel``): ``handling`` while they hold at least one assigned conversation,
  else ``wrap_up`` while a wrap-up runs, else ``idle`` when available, else ``off``
  (busy, away, offline; offline is ``off`` even with conversations kept);
- per channel the agent has capacity on: ``handling`` with a conversation of that channel
  (counted in the queue of the earliest accepted), ``wrap_up`` in a wrap-up of that channel
  (its conversation's queue), ``idle`` when available on it (counted in the queue the agent
  last served on the channel), else ``off``.
"""

import uuid
from datetime import datetime

from services.routing.domain import Agent, AgentStatus
from services.routing.lifecycle import Steps
from services.routing.repository.agents import AgentRepository
from services.routing.repository.work import Activity, Handling, WorkRepository, WrapUp
from shared.events import Channel, LifecycleStep

HANDLING, WRAP_UP, IDLE, OFF = "handling", "wrap_up", "idle", "off"
#: Statuses in which an agent with nothing to do is idle.
READY = (AgentStatus.AVAILABLE, AgentStatus.WRAP_UP)


def activities(
    agent: Agent,
    handling: list[Handling],
    wrap_ups: list[WrapUp],
    before: dict[str, Activity],
) -> dict[str, Activity]:
    """The agent's activity overall (scope '') and per channel (scope = the channel)."""
    held = {h.channel: h for h in handling}
    wrapping = {w.channel: w for w in wrap_ups}
    offline = agent.status == AgentStatus.OFFLINE
    if offline:
        overall = OFF
    elif held:
        overall = HANDLING
    elif wrapping:
        overall = WRAP_UP
    else:
        overall = IDLE if agent.status in READY else OFF
    found = {"": Activity(overall, None)}
    for channel in (c.value for c in Channel):
        last = before.get(channel)
        last_queue = last.queue if last is not None else None
        if offline:
            found[channel] = Activity(OFF, last_queue)
        elif channel in held:
            found[channel] = Activity(HANDLING, held[channel].queue)
        elif channel in wrapping:
            found[channel] = Activity(WRAP_UP, wrapping[channel].queue)
        elif agent.status in READY and agent.room_on(channel) > 0:
            found[channel] = Activity(IDLE, last_queue)
        else:
            found[channel] = Activity(OFF, last_queue)
    return found


async def refresh(
    agents: AgentRepository,
    work: WorkRepository,
    steps: Steps,
    touched: dict[uuid.UUID, datetime],
) -> None:
    """Publish the activity that changed for each touched agent (locked by the caller)."""
    for agent_id in sorted(touched):
        agent = await agents.get(agent_id)
        if agent is None:
            continue
        before = await work.activity_of(agent_id)
        now = activities(
            agent, await work.handling(agent_id), await work.wrap_ups_of(agent_id), before
        )
        # Never earlier than what was announced last: metrics orders the changes by time.
        at = max([touched[agent_id], *(a.since for a in before.values() if a.since)])
        # A scope seen for the first time is announced unless it starts off.
        unknown = Activity(OFF, None)
        changed = {
            scope: a
            for scope, a in now.items()
            if (a.state, a.queue)
            != (before.get(scope, unknown).state, before.get(scope, unknown).queue)
        }
        first = {scope: a for scope, a in now.items() if scope not in before}
        await work.save_activity(agent_id, changed | first, at)
        for scope, a in sorted(changed.items()):
            steps.add(
                LifecycleStep.AGENT_ACTIVITY_CHANGED,
                at=at,
                agent_id=agent_id,
                agent_status=a.state,
                channel=scope or None,
                queue=a.queue,
            )
