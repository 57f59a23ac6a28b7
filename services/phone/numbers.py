"""Phone numbers to E.164."""

import functools

import phonenumbers

#: Inputs up to this long are converted once and remembered (see _cached_e164).
_CACHED_CHARS = 100


def to_e164(raw: str, *, region: str) -> str | None:
    """``raw`` as E.164, or None when it is no valid phone number (an extension, a SIP URI)."""
    if len(raw) <= _CACHED_CHARS:
        return _cached_e164(raw, region)
    return _e164(raw, region)


# Parsing and validating a number costs about a hundred microseconds, and a call names the
# same numbers several times (its events, its customer): our own numbers on every call, a
# customer's on each of theirs.
@functools.lru_cache(maxsize=4096)
def _cached_e164(raw: str, region: str) -> str | None:
    return _e164(raw, region)


def _e164(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
