"""Agents' replies leave the email connector by SMTP."""

from aiokafka import ConsumerRecord

from services.email.outbound.smtp import SmtpTransport

__all__ = ["SmtpTransport", "may_be_delivered"]


def may_be_delivered(record: ConsumerRecord) -> bool:
    """Whether a record may be a reply this connector delivers: its key is an email conversation."""
    return record.key is not None and record.key.startswith(b"email:")
