"""The phone connector: Twilio voice and SMS, Asterisk CDRs and generic call logs."""

from fastapi import FastAPI

from shared.events import INTERACTIONS_TOPIC
from shared.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="phone",
        description=__doc__ or "",
        topics=[INTERACTIONS_TOPIC],
    )
