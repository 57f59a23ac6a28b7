"""Telling a provider that a refusal is final, in the way it understands, so it stops retrying.

Providers retry every answer but a success, for hours, unless the answer is their own "do
not retry": Mailgun stops on 406, Postmark on 403, Slack on any error carrying
``X-Slack-No-Retry: 1``. A webhook route declares :func:`final_refusals` as a dependency;
the refusals no retry can change (bad input, a body too large, a replay) are then answered
that way, with the same JSON body. A wrong signature or password stays a retried 401 (the
usual cause is a secret being rotated), and 408, 429 and 5xx stay passing failures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sqlalchemy.exc import DBAPIError

from shared.errors import SwitchboardError, value_refused

__all__ = ["FinalRefusal", "final_refusals", "is_final"]

#: Client errors that another attempt may get past: credentials, a timeout, a rate limit.
PASSING_CLIENT_ERRORS = frozenset({401, 408, 429})


def is_final(error: SwitchboardError) -> bool:
    """True when sending the same request again would be refused again."""
    return 400 <= error.status_code < 500 and error.status_code not in PASSING_CLIENT_ERRORS


class FinalRefusal(SwitchboardError):
    """A final refusal, with the status and headers a provider reads as "do not retry"."""

    def __init__(
        self, refusal: SwitchboardError, *, status_code: int, headers: dict[str, str]
    ) -> None:
        super().__init__(refusal.message, detail=refusal.detail)
        self.code = refusal.code
        self.status_code = status_code
        self.headers = {**(refusal.headers or {}), **headers}


class _ValueRefused(SwitchboardError):
    status_code = 422
    code = "invalid_value"


def final_refusals(
    *, status_code: int | None = None, headers: dict[str, str] | None = None
) -> Callable[[], AsyncIterator[None]]:
    """A route dependency answering final refusals with ``status_code`` (else their own
    status) and ``headers`` added; other errors pass unchanged.

    Declare it first in the route's ``dependencies``: it then also sees what the other
    dependencies (signature checks, body limits) raise.
    """

    async def dependency() -> AsyncIterator[None]:
        try:
            yield
        except SwitchboardError as refusal:
            if not is_final(refusal):
                raise
            raise _final(refusal, status_code, headers) from refusal
        except DBAPIError as error:
            if not value_refused(error):
                raise
            refused = _ValueRefused("a value of the request cannot be stored")
            raise _final(refused, status_code, headers) from error

    return dependency


def _final(
    refusal: SwitchboardError, status_code: int | None, headers: dict[str, str] | None
) -> FinalRefusal:
    return FinalRefusal(
        refusal, status_code=status_code or refusal.status_code, headers=headers or {}
    )
