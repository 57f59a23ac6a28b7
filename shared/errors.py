"""One error base class; one handler turns it into a JSON response.

Services raise these; they never raise HTTP exceptions themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "BadRequest",
    "BrokerUnavailable",
    "Conflict",
    "DatabaseUnavailable",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RecordTooLarge",
    "SwitchboardError",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "install_error_handlers",
    "invalid_body",
    "problems_of",
    "value_refused",
]


class SwitchboardError(Exception):
    """Base of every error a service answers with; carries a status and a machine code."""

    status_code = 500
    code = "internal_error"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class BadRequest(SwitchboardError):
    status_code = 400
    code = "bad_request"


class Unauthorized(SwitchboardError):
    status_code = 401
    code = "unauthorized"


class Forbidden(SwitchboardError):
    status_code = 403
    code = "forbidden"


class NotFound(SwitchboardError):
    status_code = 404
    code = "not_found"


class Conflict(SwitchboardError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(SwitchboardError):
    status_code = 413
    code = "payload_too_large"


class UnprocessableEntity(SwitchboardError):
    status_code = 422
    code = "unprocessable_entity"


class TooManyRequests(SwitchboardError):
    """A client went over a rate limit; ``Retry-After`` says when to come back."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.headers = {"Retry-After": str(max(1, retry_after_s))}


class BrokerUnavailable(SwitchboardError):
    """The broker did not acknowledge in time: the provider should retry."""

    status_code = 503
    code = "broker_unavailable"
    headers = {"Retry-After": "5"}


class DatabaseUnavailable(SwitchboardError):
    """Postgres did not answer: the provider should retry."""

    status_code = 503
    code = "database_unavailable"
    headers = {"Retry-After": "5"}


class RecordTooLarge(SwitchboardError):
    """An event is larger than the broker accepts: retrying cannot help, so not a 503."""

    status_code = 413
    code = "record_too_large"


def problems_of(errors: Any) -> list[dict[str, str]]:
    """Pydantic's errors as ``{"field": "a.b", "problem": "..."}`` items."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "problem": err["msg"]}
        for err in errors
    ]


def invalid_body(exc: ValidationError, message: str = "body is invalid") -> BadRequest:
    """A 400 naming every field pydantic rejected."""
    return BadRequest(message, detail=problems_of(exc.errors(include_url=False)))


def install_error_handlers(app: FastAPI) -> None:
    """Map our errors, FastAPI's validation errors and plain HTTP errors to JSON bodies."""

    async def on_switchboard_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SwitchboardError)
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = problems_of(exc.errors())
        body = {"error": "validation_failed", "message": "request is invalid", "detail": problems}
        return JSONResponse(body, status_code=422)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        body = {"error": "http_error", "message": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_database_error(_: Request, exc: Exception) -> JSONResponse:
        if not value_refused(exc):
            raise exc
        body = {"error": "invalid_value", "message": "a value of the request cannot be stored"}
        return JSONResponse(body, status_code=422)

    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(SwitchboardError, on_switchboard_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(DBAPIError, on_database_error)


#: Postgres data exceptions that a value sent by a client causes: string too long, number out
#: of range, datetime out of range, NUL character, character without an equivalent.
REFUSED_VALUES = frozenset({"22001", "22003", "22008", "22021", "22P05"})


def value_refused(exc: BaseException) -> bool:
    """True when Postgres refused a value a request carried rather than the query being wrong:
    a character it cannot store (NUL) or a number out of its column's range."""
    import asyncpg

    cause = getattr(exc, "orig", None)
    cause = cause.__cause__ if cause is not None else None
    if not isinstance(cause, asyncpg.DataError):
        return False
    if cause.__cause__ is not None:
        # Raised by asyncpg for an argument it could not encode: a number out of range is the
        # request's fault, a wrong type is ours.
        return isinstance(cause.__cause__, OverflowError)
    return cause.sqlstate in REFUSED_VALUES
