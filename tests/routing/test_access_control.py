"""Who may read what: roles, tokens issued, rotated and revoked in routing and answered by
metrics through access.v1, survey tokens, and what production hides (docs, /metrics).

Every attack here was possible before: the KPIs, the CSV export and the survey endpoint
were open to anyone, and an agent's token lived as long as the agent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from services.metrics.app import create_app as create_metrics
from services.metrics.settings import MetricsSettings
from services.routing.app import create_app
from shared.auth import SurveyGrant, survey_token
from shared.events import INTERACTIONS_TOPIC
from shared.service import create_service_app
from shared.settings import PlatformSettings
from tests.routing.support import ADMIN_TOKEN, Routing, eventually, routing_settings, tag
from tests.support.kafka import group_at_end
from tests.support.server import serving

METRICS_ADMIN = {"Authorization": "Bearer dev-metrics-admin-token"}
SURVEY_SECRET = SecretStr("dev-survey-secret")  # both services' development default
#: Every read of the metrics service that names customers or their conversations.
KPI_READS = ["/kpis", "/kpis/agents", "/kpis/queues", "/exports/conversations.csv"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def metrics_url(stack_env: None) -> AsyncIterator[str]:
    group = f"metrics-access-{uuid.uuid4().hex[:8]}"
    settings = MetricsSettings(consumer_group=group, privacy_group=f"{group}-privacy")
    async with serving(create_metrics(settings)) as url:
        yield url


async def known_to_metrics(metrics_url: str, token: str, *, live: bool = True) -> None:
    """Wait until metrics answers ``token`` (live) or refuses it (revoked), from access.v1."""

    async def probe() -> bool:
        async with httpx.AsyncClient(base_url=metrics_url, headers=bearer(token)) as client:
            status = (await client.get("/kpis")).status_code
        return status != 401 if live else status == 401

    await eventually(probe, timeout=30, what=f"metrics to {'accept' if live else 'refuse'} it")


async def test_kpis_exports_and_surveys_refuse_anonymous_callers(metrics_url: str) -> None:
    async with httpx.AsyncClient(base_url=metrics_url) as anonymous:
        reads = [(await anonymous.get(path)).status_code for path in KPI_READS]
        wrong = (await anonymous.get("/kpis", headers=bearer("guessed-token"))).status_code
        # Before: anyone could rate any conversation, and learn whether its key exists.
        survey = await anonymous.post(
            "/surveys", json={"conversation_key": "chat:webchat:x", "kind": "csat", "score": 1}
        )
    assert reads == [401] * len(KPI_READS)
    assert wrong == 401
    assert survey.status_code == 403, survey.text
    assert "survey token" in survey.json()["message"]


async def test_each_role_reads_what_it_may(routing: Routing, metrics_url: str) -> None:
    supervisor = await routing.agent(role="supervisor")
    agent = await routing.agent()
    wall = await routing.admin.post("/admin/tokens", json={"role": "wall", "name": "lobby"})
    assert wall.status_code == 201, wall.text
    wall_token = wall.json()["token"]
    for token in (supervisor.token, agent.token, wall_token):
        await known_to_metrics(metrics_url, token)

    async def statuses(token: str) -> list[int]:
        async with httpx.AsyncClient(base_url=metrics_url, headers=bearer(token)) as client:
            return [(await client.get(path)).status_code for path in KPI_READS]

    assert await statuses(supervisor.token) == [200, 200, 200, 200]
    assert await statuses(wall_token) == [200, 200, 200, 403]
    assert await statuses(agent.token) == [200, 403, 403, 403]
    async with httpx.AsyncClient(base_url=metrics_url, headers=bearer(agent.token)) as client:
        own = await client.get("/kpis", params={"agent": agent.id})
        others = await client.get("/kpis", params={"agent": supervisor.id})
    assert own.status_code == 200
    assert others.status_code == 403
    # A supervisor is an agent too, and sees the supervisor's pages in routing.
    me = await supervisor.client.get("/agent/me")
    assert me.json()["role"] == "supervisor"


async def test_outcomes_and_the_customer_export_by_role(routing: Routing, metrics_url: str) -> None:
    # Outcomes are the team's figures (no agent's own); the export names customers.
    supervisor = await routing.agent(role="supervisor")
    agent = await routing.agent()
    machines: dict[str, str] = {}
    for role in ("wall", "service"):
        issued = await routing.admin.post("/admin/tokens", json={"role": role, "name": role})
        assert issued.status_code == 201, issued.text
        machines[role] = issued.json()["token"]
    for token in (supervisor.token, agent.token, *machines.values()):
        await known_to_metrics(metrics_url, token)
    # A quiet range long ago, so the reports are quick whatever other modules published.
    quiet = {"start": "2001-01-01T00:00:00Z", "end": "2001-01-03T00:00:00Z"}

    async def statuses(token: str) -> tuple[int, int]:
        async with httpx.AsyncClient(base_url=metrics_url, headers=bearer(token)) as client:
            outcomes = await client.get("/kpis/outcomes", params={**quiet, "period": "day"})
            export = await client.get("/exports/customers.csv", params=quiet)
        return outcomes.status_code, export.status_code

    assert await statuses(agent.token) == (403, 403)
    assert await statuses(machines["wall"]) == (200, 403)
    assert await statuses(machines["service"]) == (200, 403)
    assert await statuses(supervisor.token) == (200, 200)
    async with httpx.AsyncClient(base_url=metrics_url, headers=bearer(supervisor.token)) as client:
        outcomes = await client.get("/kpis/outcomes", params={**quiet, "period": "day"})
        export = await client.get("/exports/customers.csv", params=quiet)
    assert [p["start"][:10] for p in outcomes.json()["periods"]] == ["2001-01-01", "2001-01-02"]
    assert export.text.splitlines()[0].startswith("contact_id,merged_contact_ids,")
    async with httpx.AsyncClient(base_url=metrics_url, headers=bearer(agent.token)) as client:
        refused = await client.get("/kpis/outcomes", params=quiet)
    assert refused.json()["error"] == "forbidden", refused.text


async def test_a_revoked_token_stops_working_in_routing_and_metrics(
    routing: Routing, metrics_url: str
) -> None:
    agent = await routing.agent()
    await known_to_metrics(metrics_url, agent.token)
    tokens = (await routing.admin.get("/admin/tokens", params={"agent_id": agent.id})).json()
    assert [t["name"] for t in tokens] == ["first token"]
    assert "token" not in tokens[0]
    assert "secret_sha256" not in tokens[0]

    revoked = await routing.admin.delete(f"/admin/tokens/{tokens[0]['id']}")
    again = await routing.admin.delete(f"/admin/tokens/{tokens[0]['id']}")

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert again.status_code == 404
    assert (await agent.client.get("/agent/me")).status_code == 401
    await known_to_metrics(metrics_url, agent.token, live=False)


async def test_rotating_an_agents_token_revokes_the_old_one(routing: Routing) -> None:
    agent = await routing.agent()
    rotated = await routing.admin.post(
        f"/admin/agents/{agent.id}/tokens", json={"name": "laptop", "revoke_others": True}
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["token"]
    assert (await agent.client.get("/agent/me")).status_code == 401
    async with httpx.AsyncClient(base_url=routing.url, headers=bearer(new)) as client:
        assert (await client.get("/agent/me")).json()["id"] == agent.id
    # A short-lived token: expiry is part of the record.
    short = await routing.admin.post(
        f"/admin/agents/{agent.id}/tokens", json={"name": "kiosk", "valid_for_s": 60}
    )
    assert short.json()["credential"]["expires_at"] is not None


async def test_a_machine_token_is_no_agent(routing: Routing) -> None:
    created = await routing.admin.post("/admin/tokens", json={"role": "service", "name": "crm"})
    bad_role = await routing.admin.post("/admin/tokens", json={"role": "admin", "name": "x"})
    async with httpx.AsyncClient(base_url=routing.url) as client:
        as_agent = await client.get("/agent/me", headers=bearer(created.json()["token"]))
        as_admin = await client.get("/admin/agents", headers=bearer(created.json()["token"]))
    assert created.status_code == 201
    assert bad_role.status_code == 422
    assert as_agent.status_code == 401
    assert as_admin.status_code == 401


async def test_survey_tokens_come_with_the_resolution_and_rate_only_their_conversation(
    routing: Routing, metrics_url: str
) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=t)
    conversation = await agent.take(event.conversation_key)
    await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
    (resolved,) = [
        e
        for e in await routing.lifecycle(
            event.conversation_key, lambda es: any(e["type"].endswith("resolved") for e in es)
        )
        if e["type"] == "conversation.resolved"
    ]
    tokens = resolved["survey_tokens"]
    assert set(tokens) == {"csat", "nps"}
    other = SurveyGrant(
        "chat:webchat:someone-else", "chat", "csat", datetime.now(UTC) + timedelta(days=1)
    )
    expired = SurveyGrant(
        event.conversation_key, "chat", "csat", datetime.now(UTC) - timedelta(seconds=1)
    )

    async with httpx.AsyncClient(base_url=metrics_url) as customer:

        async def answer(**body: object) -> httpx.Response:
            return await customer.post("/surveys", json={"kind": "csat", "score": 5, **body})

        async def seen() -> httpx.Response | None:
            # Metrics takes an answer once it has seen the conversation on routing.v1.
            response = await answer(token=tokens["csat"])
            return None if response.status_code == 404 else response

        accepted = await eventually(seen, timeout=30, what="metrics to know the conversation")
        wrong_kind = await answer(token=tokens["nps"])
        other_key = await answer(token=tokens["csat"], conversation_key="chat:webchat:victim")
        forged = await answer(token=survey_token(SecretStr("not-the-secret"), other))
        stale = await answer(token=survey_token(SURVEY_SECRET, expired))
        garbage = await answer(token="a.b.c")
        service = await routing.admin.post("/admin/tokens", json={"role": "service", "name": "s"})
        await known_to_metrics(metrics_url, service.json()["token"])
        by_service = await customer.post(
            "/surveys",
            json={"conversation_key": event.conversation_key, "kind": "csat", "score": 4},
            headers=bearer(service.json()["token"]),
        )
        by_agent = await customer.post(
            "/surveys",
            json={"conversation_key": event.conversation_key, "kind": "csat", "score": 1},
            headers=bearer(agent.token),
        )

    assert accepted.status_code == 202, accepted.text
    assert wrong_kind.status_code == 403
    assert other_key.status_code == 403
    assert [forged.status_code, stale.status_code, garbage.status_code] == [401, 401, 401]
    assert by_service.status_code == 202, by_service.text
    assert by_agent.status_code == 403


def production(**variables: str) -> PlatformSettings:
    """Platform settings as the environment of a production deployment gives them."""
    return PlatformSettings.model_validate({"SWITCHBOARD_ENV": "production", **variables})


async def test_production_hides_the_api_docs_and_guards_metrics() -> None:
    closed = production()
    scraped = production(SWITCHBOARD_SCRAPE_TOKEN="a-long-scrape-token-for-tests")
    opened = production(SWITCHBOARD_API_DOCS="true")
    async with (
        serving(create_service_app(name="closed", description="", platform=closed)) as c,
        serving(create_service_app(name="scraped", description="", platform=scraped)) as s,
        serving(create_service_app(name="opened", description="", platform=opened)) as o,
        httpx.AsyncClient() as client,
    ):
        docs = [(await client.get(c + path)).status_code for path in ("/docs", "/openapi.json")]
        metrics_off = (await client.get(c + "/metrics")).status_code
        no_token = (await client.get(s + "/metrics")).status_code
        wrong = (await client.get(s + "/metrics", headers=bearer("nope"))).status_code
        scrape = await client.get(s + "/metrics", headers=bearer("a-long-scrape-token-for-tests"))
        asked = (await client.get(o + "/openapi.json")).status_code
    assert docs == [404, 404]
    assert metrics_off == 404
    assert (no_token, wrong, scrape.status_code) == (401, 401, 200)
    assert "http_requests" in scrape.text or "python_info" in scrape.text
    assert asked == 200
    with pytest.raises(ValueError, match="SWITCHBOARD_SCRAPE_TOKEN"):
        production(SWITCHBOARD_SCRAPE_TOKEN="short")


async def test_the_admin_token_rotates_through_a_list(stack_env: None, broker: str) -> None:
    new, old = "a-new-admin-token-of-length", ADMIN_TOKEN
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-rotation")
    settings = routing_settings(admin_token=SecretStr(f"{new},{old}"), consumer_group=group)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        codes = [
            (await client.get("/admin/agents", headers=bearer(token))).status_code
            for token in (new, old, "neither", f"{new},{old}")
        ]
    assert codes == [200, 200, 401, 401]
