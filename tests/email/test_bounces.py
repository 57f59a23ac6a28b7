"""Delivery status notifications: which message came back and why; delays are no failure."""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as modern_policy

from services.email.bounces import Bounce, bounce_of


def report(status_block: str, *, returned: str = "", extra_headers: str = "") -> EmailMessage:
    parts = [
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery report.\r\n",
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\nOriginal-Envelope-Id: <env-1@acme.example>\r\n"
        f"\r\n{status_block}\r\n",
    ]
    if returned:
        parts.append(f"--b\r\n{returned}\r\n")
    raw = (
        f"From: MAILER-DAEMON <>\r\n{extra_headers}MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        + "".join(parts)
        + "--b--\r\n"
    ).encode()
    message = BytesParser(policy=modern_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


FAILED = (
    "Final-Recipient: rfc822; ada@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550-5.1.1 <ada@example.com>: user unknown\r\n"
)


def test_the_returned_message_names_the_original() -> None:
    returned = (
        "Content-Type: message/rfc822\r\n\r\nMessage-ID: <reply-1@acme.example>\r\n\r\nHi\r\n"
    )
    assert bounce_of(report(FAILED, returned=returned)) == Bounce(
        "reply-1@acme.example", "5.1.1 <ada@example.com>: user unknown"
    )


def test_without_the_original_the_report_headers_or_envelope_id_name_it() -> None:
    named = report(FAILED, extra_headers="X-Original-Message-ID: <reply-2@acme.example>\r\n")
    assert bounce_of(named) == Bounce(
        "reply-2@acme.example", "5.1.1 <ada@example.com>: user unknown"
    )
    assert bounce_of(report(FAILED)) == Bounce(
        "env-1@acme.example", "5.1.1 <ada@example.com>: user unknown"
    )


def test_a_failure_without_diagnostic_names_the_recipient() -> None:
    block = "Final-Recipient: rfc822; ada@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\n"
    bounce = bounce_of(report(block))
    assert bounce is not None
    assert bounce.reason == "5.2.2 <ada@example.com>: undeliverable"


def test_a_delay_is_no_bounce() -> None:
    block = "Final-Recipient: rfc822; ada@example.com\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
    assert bounce_of(report(block)) is None


def test_other_reports_are_no_bounce() -> None:
    message = EmailMessage()
    message["Content-Type"] = "multipart/report; report-type=disposition-notification"
    assert bounce_of(message) is None
