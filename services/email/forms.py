"""HTML form bodies (urlencoded and multipart/form-data), kept as bytes until a charset is known."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import collapse_rfc2231_value
from urllib.parse import parse_qsl

from services.email.decoding import decode_bytes
from shared.errors import BadRequest

__all__ = ["Form", "UploadedFile", "parse_form"]


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


def parse_form(content_type: str | None, body: bytes) -> Form:
    """Fields and files of a form POST; 400 when the body is no form at all."""
    kind = (content_type or "").split(";")[0].strip().lower()
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
