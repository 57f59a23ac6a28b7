"""Generated MIME and random bytes thrown at the parser and the endpoints: never a 500."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.email.authentication import SenderTrust
from services.email.mime import parse_mime
from services.email.service import normalize
from shared.clock import utc_now
from shared.errors import SwitchboardError
from shared.events import InteractionEvent
from tests.email.support import SENDGRID_AUTH, basic, bearer, mailgun_signature

CHARSETS = [
    "utf-8",
    "iso-8859-1",
    "koi8-r",
    "shift_jis",
    "x-unknown",
    "utf-7",
    "base64",
    "",
    "gb2312",
]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "BASE64", "x-uuencode", "garbage"]
HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Auto-Submitted",
    "Precedence", "Return-Path", "Content-Type", "Content-Disposition", "Content-ID", "X-Autoreply",
]  # fmt: skip
ASCII = st.characters(min_codepoint=32, max_codepoint=126)

encoded_words = st.builds(
    lambda charset, kind, text: f"=?{charset}?{kind}?{text}?=",
    st.sampled_from(CHARSETS),
    st.sampled_from(["Q", "B", "q", "x"]),
    st.text(ASCII, max_size=30),
)
addresses = st.builds(
    lambda name, local, domain: f'"{name}" <{local}@{domain}>',
    st.text(max_size=20),
    st.text(ASCII, min_size=1, max_size=15),
    st.text(ASCII, max_size=15),
)
header_values = st.one_of(
    st.text(max_size=60), encoded_words, addresses, st.text(ASCII, max_size=80)
)
headers = st.lists(st.tuples(st.sampled_from(HEADERS), header_values), max_size=10)


def _leaf(content_type: str, charset: str, encoding: str, name: str | None, body: bytes) -> bytes:
    lines = (
        f"Content-Type: {content_type}; charset={charset}\nContent-Transfer-Encoding: {encoding}\n"
    )
    if name is not None:
        lines += f'Content-Disposition: attachment; filename="{name}"\n'
    return lines.encode("utf-8", "surrogatepass") + b"\n" + body


def _multipart(subtype: str, boundary: str, parts: list[bytes], closed: bool) -> bytes:
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode()
    body = b"".join(b"--" + boundary.encode() + b"\n" + part + b"\n" for part in parts)
    return head + body + (b"--" + boundary.encode() + b"--\n" if closed else b"")


leaves = st.builds(
    _leaf,
    st.sampled_from(["text/plain", "text/html", "image/png", "message/rfc822", "application/pdf"]),
    st.sampled_from(CHARSETS),
    st.sampled_from(ENCODINGS),
    st.one_of(st.none(), st.text(max_size=20)),
    st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
)
bodies = st.recursive(
    leaves,
    lambda children: st.builds(
        _multipart,
        st.sampled_from(["mixed", "alternative", "related", "report", "digest"]),
        st.text(ASCII, min_size=1, max_size=20),
        st.lists(children, max_size=4),
        st.booleans(),
    ),
    max_leaves=8,
)


def _message(header_pairs: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\n" for name, value in header_pairs)
    return head.encode("utf-8", "surrogatepass") + body


messages = st.one_of(
    st.builds(_message, headers, bodies),
    st.binary(max_size=2000),
    st.builds(
        lambda raw, cut: raw[:cut], st.builds(_message, headers, bodies), st.integers(0, 400)
    ),
)


@settings(max_examples=400, deadline=None)
@given(raw=messages)
def test_the_parser_answers_an_event_or_a_4xx(raw: bytes) -> None:
    refusal: SwitchboardError | None = None
    try:
        parsed = parse_mime(raw)
        event = normalize(
            parsed,
            provider="mime",
            received_at=utc_now(),
            max_text_chars=200_000,
            date_skew_s=300.0,
            date_max_age_s=86400.0,
            trust=SenderTrust(),
        )
    except SwitchboardError as exc:
        refusal = exc
    if refusal is not None:
        assert 400 <= refusal.status_code < 500
    else:
        assert InteractionEvent.from_json(event.to_json()) == event


@pytest.mark.usefixtures("stack_env")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=messages, endpoint=st.sampled_from(["mime", "mailgun", "sendgrid", "sendgrid-junk"]))
async def test_the_endpoints_never_answer_500(
    raw: bytes, endpoint: str, email_client: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    if endpoint == "mime":
        response = await email_client.post("/inbound/mime", content=raw, headers=bearer())
    elif endpoint == "mailgun":
        signature = mailgun_signature(fixture_secrets["mailgun_signing_key"])
        files = {**{k: (None, v.encode()) for k, v in signature.items()}, "body-mime": (None, raw)}
        response = await email_client.post("/inbound/mailgun", files=files)
    elif endpoint == "sendgrid":
        response = await email_client.post(
            "/inbound/sendgrid", files={"email": (None, raw)}, headers=basic(*SENDGRID_AUTH)
        )
    else:
        response = await email_client.post(
            "/inbound/sendgrid",
            content=raw,
            headers={"Content-Type": "multipart/form-data; boundary=xyz", **basic(*SENDGRID_AUTH)},
        )
    assert response.status_code < 500, response.text
    body = response.json()
    assert ("event_id" in body) if response.status_code == 200 else ("message" in body)


POSTMARK_KEYS = ["From", "FromFull", "Subject", "Date", "TextBody", "HtmlBody", "Headers",
                 "Attachments", "RawEmail", "MessageID", "StrippedTextReply"]  # fmt: skip
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["Name", "Value", "Email", "Content"]), children),
    ),
    max_leaves=6,
)


@pytest.mark.usefixtures("stack_env")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.dictionaries(st.sampled_from(POSTMARK_KEYS), json_values))
async def test_postmark_json_of_any_shape_never_gets_500(
    payload: dict[str, object], email_client: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    user, password = fixture_secrets["postmark_basic_auth"].split(":", 1)
    response = await email_client.post(
        "/inbound/postmark", json=payload, headers=basic(user, password)
    )
    assert response.status_code < 500, response.text
