"""Reply stripping, HTML to text and charset fallbacks, on their own."""

from __future__ import annotations

import pytest

from services.email.decoding import decode_bytes
from services.email.text import html_to_text, strip_reply


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("Thanks!\n\nOn Mon, 3 Mar 2025, Bob <b@x.org> wrote:\n> old", "Thanks!"),
        ("Thanks!\n\nOn Mon, 3 Mar 2025 at 10:00, Bob <b@x.org>\nwrote:\n\n> old", "Thanks!"),
        ("Merci\n\nLe lun. 3 mars 2025 à 10:00, Support a écrit :\n> vieux", "Merci"),
        ("Gracias\n\nEl lun, 3 mar 2025, Soporte escribió:\n> viejo", "Gracias"),
        ("Danke\n\nAm 03.03.2025 um 10:00 schrieb Support <s@x.de>:\n> alt", "Danke"),
        ("Ok\n\n-----Original Message-----\nFrom: Support\nSent: Monday", "Ok"),
        ("Ok\n\nFrom: Support <s@x.com>\nSent: Monday, March 3, 2025\nSubject: Re", "Ok"),
        ("Fine.\n-- \nBob\nACME Corp", "Fine."),
        ("Fine.\n\nSent from my iPhone", "Fine."),
        (
            "> quoted line first\nMy inline answer\n> another quote\nSecond answer",
            "My inline answer\nSecond answer",
        ),
        (
            "From: the start of a sentence is not a header block",
            "From: the start of a sentence is not a header block",
        ),
    ],
)
def test_strip_reply(text: str, stripped: str) -> None:
    assert strip_reply(text) == stripped


def test_html_to_text_keeps_blocks_drops_scripts_and_marks_quotes() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><h1>Hi</h1><p>One<br>Two</p>"
        "<ul><li>a</li><li>b</li></ul><blockquote><div>old <b>text</b></div>"
        "<blockquote>older</blockquote></blockquote><script>x()</script>&lt;tag&gt;</body></html>"
    )
    assert html_to_text(html) == "Hi\n\nOne\nTwo\n\na\n\nb\n\n> old text\n\n> > older\n\n<tag>"


@pytest.mark.parametrize(
    ("data", "charset", "text", "warning"),
    [
        ("Grüße".encode("iso-8859-1"), "ISO-8859-1", "Grüße", None),
        ("Grüße".encode(), None, "Grüße", None),
        ("Grüße".encode("cp1252"), None, "Grüße", "undeclared 8-bit text read as windows-1252"),
        ("Grüße".encode(), "x-martian", "Grüße", "unknown charset 'x-martian'"),
        ("镕".encode("gbk"), "gb2312", "镕", None),
        (b"aGVsbG8=", "base64", "aGVsbG8=", "unknown charset 'base64'"),
        ("Grüße".encode("iso-8859-1"), "utf-8", "Gr\ufffd\ufffde", "body is not valid utf-8"),
    ],
)
def test_decode_bytes(data: bytes, charset: str | None, text: str, warning: str | None) -> None:
    assert decode_bytes(data, charset) == (text, warning)
