"""Drill: bad input at volume. Schemathesis derives requests from each service's OpenAPI, valid
and invalid ones, and sends them to the six services running as real processes on a broker and
a database of the drill's own: no answer may be a server error, none may take long.

Requests carry working credentials (bearer tokens, basic auth, a routing agent, a chat visitor)
so that they get past authentication to the validation behind it, and once more without them.
The connectors read their webhook bodies raw, so their OpenAPI has no body to generate from:
those bodies are fuzzed by the parsers' property tests (tests/*/test_*fuzz*.py).
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import max_response_time, not_a_server_error

from bench.routing_bench import ROUTING_APP
from services.email.settings import EmailSettings
from services.metrics.settings import MetricsSettings
from services.phone.settings import PhoneSettings
from services.routing.settings import RoutingSettings
from services.social.settings import SocialSettings
from switchboard_dev import migrations
from switchboard_dev.postgres import create_database, drop_database
from tests.drills.support import CHAT_APP, METRICS_APP, own_broker, services_on
from tests.email.support import basic, bearer

APPS = {
    "email": "services.email.app:create_app",
    "social": "services.social.app:create_app",
    "chat": CHAT_APP,
    "phone": "services.phone.app:create_app",
    "routing": ROUTING_APP,
    "metrics": METRICS_APP,
}
#: Examples per operation: (mode, with credentials) -> how many.
EXAMPLES = {
    (GenerationMode.POSITIVE, True): 20,
    (GenerationMode.NEGATIVE, True): 20,
    (GenerationMode.NEGATIVE, False): 8,
}
MAX_RESPONSE_S = 5.0
#: Server-sent events: the answer lasts as long as the agent listens.
ENDLESS = {"GET /agent/stream"}

Headers = dict[str, str]


@pytest.fixture
async def fuzz_database(pg_admin_url: str) -> AsyncIterator[str]:
    """A database of the drill's own: generated admin calls create agents and queues, rebuild
    the metrics, and must not disturb what other drills count."""
    name = f"switchboard_fuzz_{uuid.uuid4().hex[:8]}"
    url = await create_database(pg_admin_url, name)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        yield url
    finally:
        await drop_database(pg_admin_url, name)


async def credentials(routing_url: str, chat_url: str) -> dict[tuple[str, str], Headers]:
    """(service, path prefix) -> headers that get a request past authentication."""
    admin = bearer(RoutingSettings().admin_token.get_secret_value())
    async with httpx.AsyncClient(timeout=30) as client:
        agent = await client.post(
            routing_url + "/admin/agents",
            headers=admin,
            json={"name": "fuzz", "skills": ["fuzz"], "status": "available"},
        )
        agent.raise_for_status()
        visitor = await client.post(chat_url + "/chat/sessions", json={})
        visitor.raise_for_status()
    email, social, phone = EmailSettings(), SocialSettings(), PhoneSettings()
    return {
        ("email", "/inbound/mime"): bearer(email.mime_token.get_secret_value()),
        ("email", "/inbound/sendgrid"): basic(
            email.sendgrid_username, email.sendgrid_password.get_secret_value()
        ),
        ("email", "/inbound/postmark"): basic(
            email.postmark_username, email.postmark_password.get_secret_value()
        ),
        ("social", "/webhooks/telegram"): {
            "X-Telegram-Bot-Api-Secret-Token": social.telegram_secret_token.get_secret_value()
        },
        ("phone", "/asterisk/cdr"): bearer(phone.cdr_token.get_secret_value()),
        ("chat", "/chat/"): bearer(visitor.json()["token"]),
        ("routing", "/admin/"): admin,
        ("routing", "/agent/"): bearer(agent.json()["token"]),
        ("metrics", "/admin/"): bearer(MetricsSettings().admin_token.get_secret_value()),
    }


def fuzz(service: str, base_url: str, auth: dict[tuple[str, str], Headers]) -> list[str]:
    """Every operation of the service's OpenAPI, in each mode; the failures found."""
    config = schemathesis.Config.from_dict({"checks": {"max_response_time": MAX_RESPONSE_S}})
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", config=config)
    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema raises here
        if operation.label in ENDLESS:
            continue
        headers = next(
            (
                h
                for (s, prefix), h in auth.items()
                if s == service and operation.path.startswith(prefix)
            ),
            {},
        )
        for (mode, with_credentials), examples in EXAMPLES.items():
            sent = headers if with_credentials else {}
            run = _runner(
                operation.as_strategy(generation_mode=mode), examples, base_url, sent, session
            )
            try:
                run()
            except Unsatisfiable:
                continue  # nothing of this operation can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises groups
                failures.append(f"{service} {operation.label} ({mode.value}): {exc}")
    return failures


def _runner(
    strategy: st.SearchStrategy[Case[Any]],
    examples: int,
    base_url: str,
    headers: Headers,
    session: requests.Session,
) -> Callable[[], None]:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case[Any]) -> None:
        # A hang is a failure too: requests gives up after twice the time allowed.
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers=headers,
            checks=[not_a_server_error, max_response_time],
            timeout=2 * MAX_RESPONSE_S,
        )

    return run


@pytest.mark.timeout(300)
async def test_no_service_answers_generated_requests_with_a_server_error_or_a_hang(
    fuzz_database: str,
) -> None:
    with own_broker() as broker:
        async with services_on(broker, fuzz_database, **APPS) as (_, procs):
            auth = await credentials(procs["routing"].base_url, procs["chat"].base_url)
            found = await asyncio.gather(
                *(
                    asyncio.to_thread(fuzz, name, process.base_url, auth)
                    for name, process in procs.items()
                )
            )
            failures = [failure for per_service in found for failure in per_service]
            assert not failures, "\n\n".join(failures)
