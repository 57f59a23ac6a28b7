"""Bytes and header values to text, whatever charset a mailer claimed."""

from __future__ import annotations

import codecs

__all__ = ["decode_bytes", "scrub"]

# Labels mailers use that Python does not know, or knows as a narrower charset than
# the one the bytes are really in.
_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "cp-850": "cp850",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}
_ASCII = {"ascii", "us-ascii", "ansi_x3.4-1968"}


def _codec(label: str) -> str | None:
    name = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # base64, rot13, hex... are codecs too, but not text encodings.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode ``data`` in its declared charset; return the text and a warning if it needed a guess.

    Undeclared or unknown charsets are read as UTF-8 when valid, else as Windows-1252,
    which maps every byte, so nothing is ever refused for its encoding.
    """
    label = (declared or "").strip().strip('"').lower()
    warning: str | None = None
    codec = _codec(label) if label else None
    if label and codec is None:
        warning = f"unknown charset {label[:40]!r}"
    if codec is not None and label not in _ASCII:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            return data.decode(codec, errors="replace"), f"body is not valid {label}"
        except Exception:  # some codecs raise other errors on garbage (utf-7 has)
            warning = f"body could not be decoded as {label[:40]}"
    try:
        return data.decode("utf-8"), warning
    except UnicodeDecodeError:
        guess = "undeclared 8-bit text read as windows-1252"
        return data.decode("cp1252", errors="replace"), warning or guess


def scrub(value: str) -> tuple[str, bool]:
    """Replace what cannot be UTF-8 (bytes the header parser kept as surrogates, NULs).

    Returns the clean text and whether anything was replaced.
    """
    try:
        value.encode("utf-8")
        clean = value
    except UnicodeEncodeError:
        try:
            raw = value.encode("utf-8", errors="surrogateescape")
            clean = decode_bytes(raw, None)[0]
        except UnicodeEncodeError:
            clean = value.encode("utf-8", errors="replace").decode("utf-8")
    if "\x00" in clean:
        clean = clean.replace("\x00", "")
    return clean, clean != value
