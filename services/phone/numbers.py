"""Phone numbers to E.164."""

import phonenumbers


def to_e164(raw: str, *, region: str) -> str | None:
    """``raw`` as E.164, or None when it is no valid phone number (an extension, a SIP URI)."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
