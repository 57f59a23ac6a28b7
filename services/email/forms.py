"""HTML form bodies (urlencoded and multipart/form-data), kept as bytes until a charset is known."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import collapse_rfc2231_value
from urllib.parse import parse_qsl

from services.email.decoding import decode_bytes
from shared.errors import BadRequest, PayloadTooLarge

__all__ = ["Form", "UploadedFile", "parse_form", "peek_fields"]

_PART_NAME = re.compile(rb'content-disposition:[^\r\n]*?\bname="([^"\r\n]*)"', re.I)


class TooManyFields(PayloadTooLarge):
    """A form of more fields and files than any provider sends."""

    code = "too_many_fields"


def _kind(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _boundary(content_type: str) -> bytes | None:
    message = Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary")
    return boundary.encode("latin-1", "replace") if isinstance(boundary, str) else None


def _check_field_count(content_type: str | None, body: bytes, max_fields: int) -> None:
    """413 when the body has more fields than ``max_fields``, counted without parsing it.

    Counting separators is linear; the multipart parser is not, so the count comes first.
    """
    kind = _kind(content_type)
    if kind == "application/x-www-form-urlencoded":
        count = body.count(b"&") + 1
    elif kind == "multipart/form-data":
        boundary = _boundary(content_type or "")
        count = body.count(b"--" + boundary) - 1 if boundary else 0
    else:
        return
    if count > max_fields:
        raise TooManyFields(
            "the form has more fields than the connector reads", detail={"max_fields": max_fields}
        )


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, bytes] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def digest(self) -> str:
        """SHA-256 of the fields and files, in name order: the same form sent again (with
        another multipart boundary, say) has the same digest."""
        sha = hashlib.sha256()
        parts = [(b"field", name.encode(), b"", b"", data) for name, data in self.fields.items()]
        parts += [
            (
                b"file",
                f.field.encode(),
                (f.filename or "").encode(),
                f.content_type.encode(),
                f.data,
            )
            for f in self.files
        ]
        for part in sorted(parts):
            for item in part:
                sha.update(len(item).to_bytes(8, "big") + item)
        return sha.hexdigest()

    def text(self, name: str, charset: str | None = "utf-8") -> str | None:
        """A field as text in ``charset``; None when absent."""
        data = self.fields.get(name)
        return None if data is None else decode_bytes(data, charset)[0]


def _header_text(value: str | None) -> str | None:
    # Browsers and providers send raw UTF-8 in form-data parameters; the parser kept the bytes.
    if value is None:
        return None
    return decode_bytes(value.encode("utf-8", errors="surrogateescape"), "utf-8")[0]


def _param(part: Message, name: str) -> str | None:
    value = part.get_param(name, header="content-disposition")
    return None if value is None else collapse_rfc2231_value(value)


def _multipart(content_type: str, body: bytes) -> Form:
    envelope = b"Content-Type: " + content_type.encode("latin-1", errors="replace") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(envelope + body)
    if not message.is_multipart() or message.get_param("boundary") is None:
        raise BadRequest("multipart body without a boundary", detail={"field": "Content-Type"})
    form = Form()
    parts = message.get_payload()
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, Message):
            continue
        name = _header_text(_param(part, "name"))
        if not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = _param(part, "filename")
        if filename is not None:
            form.files.append(
                UploadedFile(
                    field=name,
                    filename=_header_text(filename),
                    content_type=part.get_content_type(),
                    data=data,
                )
            )
        else:
            form.fields[name] = data
    return form


def peek_fields(
    content_type: str | None, body: bytes, names: frozenset[str], *, max_fields: int
) -> dict[str, bytes]:
    """The fields ``names`` of a form, found without parsing the rest of it.

    For a signature to be checked before the whole form is parsed. 413 past
    ``max_fields``; a body that is no form has none of the fields.
    """
    _check_field_count(content_type, body, max_fields)
    kind = _kind(content_type)
    if kind == "application/x-www-form-urlencoded":
        return {
            name: value
            for name, value in parse_form(content_type, body, max_fields).fields.items()
            if name in names
        }
    boundary = _boundary(content_type or "") if kind == "multipart/form-data" else None
    found: dict[str, bytes] = {}
    for chunk in body.split(b"--" + boundary) if boundary else ():
        head, separator, value = chunk.partition(b"\r\n\r\n")
        if not separator:
            head, separator, value = chunk.partition(b"\n\n")
        named = _PART_NAME.search(head)
        if separator and named and named.group(1).decode("latin-1") in names:
            found[named.group(1).decode("latin-1")] = value.removesuffix(b"\n").removesuffix(b"\r")
    return found


def parse_form(content_type: str | None, body: bytes, max_fields: int) -> Form:
    """Fields and files of a form POST; 400 when the body is no form at all, 413 past
    ``max_fields`` fields and files."""
    _check_field_count(content_type, body, max_fields)
    kind = _kind(content_type)
    if kind == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        return Form(
            fields={
                k.encode("latin-1").decode("utf-8", "replace"): v.encode("latin-1")
                for k, v in pairs
            }
        )
    if kind == "multipart/form-data":
        try:
            return _multipart(content_type or "", body)
        except BadRequest:
            raise
        except Exception as exc:  # a form so broken the parser gave up on it
            raise BadRequest(
                "the multipart form could not be parsed", detail={"problem": type(exc).__name__}
            ) from None
    raise BadRequest(
        "expected a form body (application/x-www-form-urlencoded or multipart/form-data)",
        detail={"field": "Content-Type", "got": kind or None},
    )
