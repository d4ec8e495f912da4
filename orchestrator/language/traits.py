"""The reserved profile traits and the validators of their values: one definition for identify and for `update`.

The store applies identify traits with them (`store/profiles.py`), and the
compiler checks a journey's literal `update` values with the same functions, so
a value the API would refuse is refused at `journey validate` time too. Each
validator returns the normalized value or raises `ProfileFieldError` naming the
key and saying what a good value looks like.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from orchestrator.language.timeparse import is_timezone

OPT_IN_TRAITS: Final = {"email_opt_in": "email", "sms_opt_in": "sms", "push_opt_in": "push"}
RESERVED_TRAITS: Final = frozenset({"email", "phone", "timezone", "locale", "push_tokens", *OPT_IN_TRAITS})
UNDELIVERABLE_TRAITS: Final = {"email": "email_undeliverable", "phone": "phone_undeliverable"}
"""Set by provider webhooks when an address hard-bounces or complains: the delivery gate stops sending to it."""
SMS_STOP_TRAIT: Final = "sms_stopped"
"""Set when the customer texts STOP to our number (orchestrator/webhooks/twilio_inbound.py): the gate sends them no SMS."""
DEFAULT_PHONE_REGION: Final = "US"


def why_journeys_cannot_write(key: str) -> str | None:
    """Why a journey's `update` may not write the trait `key`, or None when it may.

    Consent (`*_opt_in`) is the customer's to give and deliverability
    (`*_undeliverable`, `sms_stopped`) the providers' and the customer's phone's
    to report: a journey that could write them could grant itself the right to
    message someone who never opted in, or resume sends to an address that bounced.
    """
    if key.endswith("_opt_in"):
        return "consent is the customer's to give (identify calls, unsubscribe links, STOP replies), never a journey's"
    if key.endswith("_undeliverable") or key == SMS_STOP_TRAIT:
        return "deliverability is reported by the providers and the customer's phone, never written by a journey"
    return None

# BCP 47 in practice: a language, then optional script/region/variant subtags; "_" accepted (en_US).
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}")


class ProfileFieldError(ValueError):
    """A trait value that cannot be stored (bad e-mail, phone, zone...). Raised before anything is written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def email(value: Any) -> str:
    if not isinstance(value, str):
        raise ProfileFieldError("email", f"must be a string, not {type(value).__name__}")
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ProfileFieldError("email", f"'{value}' is not a valid email address: {exc}") from None


def phone(value: Any, country: Any = None) -> str:
    """E.164; a number without a country code is read in `country` (a trait), else in DEFAULT_PHONE_REGION."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ProfileFieldError("phone", f"must be a string, not {type(value).__name__}")
    text = str(value).strip()
    region = country.upper() if isinstance(country, str) and country.upper() in phonenumbers.SUPPORTED_REGIONS else DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ProfileFieldError("phone", f"'{text}' is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        hint = "" if text.startswith("+") else f" (read as a {region} number; add the country code, e.g. +44...)"
        raise ProfileFieldError("phone", f"'{text}' is not a valid phone number{hint}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def timezone(value: Any) -> str:
    if not isinstance(value, str) or not is_timezone(value):
        raise ProfileFieldError("timezone", f"{value!r} is not an IANA time zone; use a name like 'Europe/Paris' or 'America/New_York'")
    return value


def locale(value: Any) -> str:
    if not isinstance(value, str) or not _LOCALE.fullmatch(value.strip()):
        raise ProfileFieldError("locale", f"{value!r} is not a locale; use a language tag like 'en', 'en-US' or 'pt-BR'")
    return value.strip()


def push_tokens(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ProfileFieldError("push_tokens", "must be a list of token strings")
    tokens: list[str] = []
    for token in value:
        if not isinstance(token, str) or not token.strip():
            raise ProfileFieldError("push_tokens", f"{token!r} is not a token; every token must be a non-empty string")
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ProfileFieldError(key, f"must be true or false, not {value!r}")
    return value


FIELD_VALIDATORS: Final[dict[str, Callable[[Any], Any]]] = {
    "email": email,
    "phone": phone,
    "timezone": timezone,
    "locale": locale,
    "push_tokens": push_tokens,
}
"""The reserved traits kept in profile fields, each with its validator (`phone` read without a `country`)."""
