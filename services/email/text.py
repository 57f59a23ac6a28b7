"""Plain text out of mail bodies: HTML to text, and the reply without quotes and signature."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "strip_reply"]

_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    ]
)
_INVISIBLE = frozenset({"script", "style", "head", "title", "template"})
_SPACES = re.compile(r"\s+")


class _TextCollector(HTMLParser):
    """Collects visible text; lines inside <blockquote> get '> ' so quotes strip like plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Each line keeps its pieces in a list, joined once at the end: adding to a string
        # copies it, and a line of a million tags would be copied a million times.
        self.lines: list[tuple[int, list[str]]] = [(0, [])]
        self._quote_depth = 0
        self._hidden = 0

    def _new_line(self) -> None:
        self.lines.append((self._quote_depth, []))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self._quote_depth += 1
            self._new_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            self._new_line()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.lines[-1][1].append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """The visible text of an HTML body, one line per block, blockquotes marked with '> '."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    rendered: list[str] = []
    for depth, pieces in collector.lines:
        line = "".join(pieces).strip()
        if not line:
            if rendered and rendered[-1] != "":
                rendered.append("")
            continue
        rendered.append("> " * depth + line)
    return "\n".join(rendered).strip()


# Lines that introduce quoted history, in the languages our customers write in.
_ATTRIBUTION = re.compile(
    r"^\s*("
    r"On\b.{0,200}\bwrote:"
    r"|Le\b.{0,200}\ba écrit\s*:"
    r"|El\b.{0,200}\bescribió:"
    r"|Am\b.{0,200}\bschrieb.{0,80}:"
    r"|Il giorno\b.{0,200}\bha scritto:"
    r"|Em\b.{0,200}\bescreveu:"
    r"|Op\b.{0,200}\bschreef.{0,80}:"
    r"|-{2,}\s*Original Message\s*-{2,}"
    r"|-{2,}\s*Mensaje original\s*-{2,}"
    r"|_{10,}"
    r")\s*$",
    re.IGNORECASE,
)
# Outlook's header block of the quoted message: "From: ..." followed by "Sent:" or "Date:".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|De|Von):\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Enviado|Gesendet|Envoyé|To):\*?\s", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^(--\s?|Sent from my \w+.*|Sent from (Mail|Outlook) for .*|Get Outlook for .*"
    r"|Enviado desde mi .*)$",
    re.IGNORECASE,
)


def _history_starts(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line):
            return index
        # "On Mon, 3 Mar 2025, Bob <bob@example.net>" / "wrote:" wrapped over two lines.
        if (
            line.lstrip().lower().startswith("on ")
            and index + 1 < len(lines)
            and _ATTRIBUTION.match(f"{line} {lines[index + 1].strip()}")
        ):
            return index
        if (
            _OUTLOOK_FROM.match(line)
            and index + 1 < len(lines)
            and _OUTLOOK_NEXT.match(lines[index + 1])
        ):
            return index
    return len(lines)


def strip_reply(text: str) -> str:
    """The new part of a reply: quoted history, '>' quotes and the signature removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _history_starts(lines)]
    kept: list[str] = []
    for line in lines:
        if _SIGNATURE.match(line.rstrip("\n")):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()
