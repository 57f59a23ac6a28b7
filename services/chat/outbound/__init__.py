"""Agents' replies leave the chat connector: Slack's Web API and the generic outbound webhook.

The website widget is not here: its replies reach the visitor through the Hub.
"""

from aiokafka import ConsumerRecord

from services.chat.outbound.generic import generic_chat_transport
from services.chat.outbound.slack import SlackTransport
from services.chat.settings import ChatSettings
from services.chat.visitors import may_be_widget_reply
from shared.outbound import Transport

__all__ = ["SlackTransport", "may_be_delivered", "transports"]


def transports(settings: ChatSettings) -> list[Transport]:
    """The chat connector's outbound transports, Slack first (generic serves the rest)."""
    return [SlackTransport(settings), generic_chat_transport(settings)]


def may_be_delivered(record: ConsumerRecord) -> bool:
    """Whether a record may be a reply this connector delivers: any chat key but the widget's."""
    return record.key is not None and not may_be_widget_reply(record)
