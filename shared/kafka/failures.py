"""How the consumer loop judges a handler's failure: retry it, or dead-letter the record."""

from __future__ import annotations

from aiokafka.errors import KafkaError

from shared.errors import BrokerUnavailable

__all__ = ["describe_failure", "is_transient", "sqlstate_of"]

#: SQLSTATE classes of a database that is failing, not of a record that is wrong: connection
#: exception, transaction rollback (serialization failure, deadlock), insufficient resources
#: (too many connections, disk full), operator intervention (admin shutdown, cannot connect
#: now) and system error.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: A read-only transaction: what a writer meets on a standby right after a failover.
READ_ONLY_SQL_TRANSACTION = "25006"


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE a Postgres error carries, looking through SQLAlchemy's wrappers."""
    carrier = _postgres_error(exc)
    return None if carrier is None else str(carrier.sqlstate)  # type: ignore[attr-defined]


def _postgres_error(exc: BaseException) -> BaseException | None:
    """The error in ``exc``'s chain that carries a SQLSTATE: asyncpg's ``PostgresError``.

    SQLAlchemy's ``DBAPIError`` keeps the driver's error in ``orig``, and the asyncpg
    adapter chains asyncpg's error as its cause.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and len(code) == 5:
            return current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return None


def is_transient(exc: BaseException) -> bool:
    """True for failures of the infrastructure (database, broker, network), not of the record.

    A transient failure is retried with back-off and never sends a record to the DLQ.
    Postgres errors count as transient by their SQLSTATE (see
    ``TRANSIENT_SQLSTATE_CLASSES``); any other database error is the record's.
    """
    if isinstance(exc, OSError | ConnectionError | TimeoutError | BrokerUnavailable | KafkaError):
        return True
    # Imported lazily so that a consumer without a database needs neither library.
    import asyncpg
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = sqlstate_of(exc)
    if sqlstate is not None and (
        sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate == READ_ONLY_SQL_TRANSACTION
    ):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_transient(cause)


def describe_failure(exc: BaseException) -> str:
    """The exception's type and a message without the values it was raised for.

    Goes into the ``dlq.error`` header and the logs, so it must not carry customer data:
    pydantic's messages quote the input, Postgres's quote the offending value (and its
    DETAIL the whole key), SQLAlchemy's add the statement and its parameters.
    """
    kind = type(exc).__name__
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        return f"{kind}: {'; '.join(problems)}"[:2000]
    carrier = _postgres_error(exc)
    if carrier is not None:
        return f"{kind}: {type(carrier).__name__} (SQLSTATE {sqlstate_of(carrier)})"
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return kind
    return f"{kind}: {exc}"[:2000]
