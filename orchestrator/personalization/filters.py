"""Filters that write numbers, money and dates the way the customer reads them.

    {{ event.total | currency('USD') }}     $1,234.50 (en_US), 1 234,50 $US (fr_FR)
    {{ event.count | number }}              12,345 (en), 12.345 (de)
    {{ event.ratio | percent }}             25%
    {{ event.ordered_at | date('medium') }} Mar 1, 2026, in the customer's time zone
    {{ event.ordered_at | datetime('short') }} / {{ ... | time }}

Formats are Babel's: `short`, `medium`, `long`, `full` or a CLDR pattern such
as `d MMMM y`. The locale and zone come from the `Locality` that the renderer
puts in the context under LOCALITY_KEY (a name templates cannot write, since
the compiler refuses names starting with `_`); without one (compile-time checks,
conditions), `en` and UTC.

A value that is not a number or a date fails the render with a FilterError (a
Jinja TemplateRuntimeError), so the send is marked failed with that reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import TemplateRuntimeError, pass_context
from jinja2.runtime import Context

from orchestrator.personalization.locales import DEFAULT_LOCALE, Locality, parse_locale

LOCALITY_KEY = "_locality"

_DEFAULT = Locality(parse_locale(DEFAULT_LOCALE), ZoneInfo("UTC"))


class FilterError(TemplateRuntimeError):
    """A personalization filter got a value it cannot format."""


def _locality(context: Context) -> Locality:
    value = context.get(LOCALITY_KEY)
    return value if isinstance(value, Locality) else _DEFAULT


def _decimal(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise FilterError(f"{name}: {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"{name}: {value!r} is not a finite number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FilterError(f"{name}: {value!r} is not a number") from None
    if not number.is_finite():
        raise FilterError(f"{name}: {value!r} is not a finite number")
    return number


def _moment(name: str, value: Any) -> datetime | date:
    """A datetime (naive ones are UTC) or a plain date, from a datetime, date, ISO 8601 text or epoch seconds."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise FilterError(f"{name}: {value!r} is out of range for a timestamp") from None
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FilterError(f"{name}: {value!r} is not an ISO 8601 date or datetime") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise FilterError(f"{name}: {value!r} is not a date")


def _babel(name: str, call: Callable[[], str]) -> str:
    try:
        return call()
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
        raise FilterError(f"{name}: {exc}") from None


@pass_context
def number(context: Context, value: Any, digits: int | None = None) -> str:
    """A number with the locale's grouping and decimal mark; `digits` fixes the decimals."""
    amount = _decimal("number", value)
    locale = _locality(context).locale
    if digits is None:
        return _babel("number", lambda: format_decimal(amount, locale=locale))
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 12:
        raise FilterError(f"number: digits must be a whole number from 0 to 12, not {digits!r}")
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _babel("number", lambda: format_decimal(amount, format=pattern, locale=locale))


@pass_context
def currency(context: Context, value: Any, code: Any) -> str:
    """An amount of money in `code` (ISO 4217: USD, EUR...), written the locale's way."""
    amount = _decimal("currency", value)
    if not isinstance(code, str) or len(code.strip()) != 3 or not code.strip().isalpha():
        raise FilterError(f"currency: {code!r} is not an ISO 4217 currency code such as 'USD' or 'EUR'")
    locale = _locality(context).locale
    return _babel("currency", lambda: format_currency(amount, code.strip().upper(), locale=locale))


@pass_context
def percent(context: Context, value: Any) -> str:
    """A ratio as a percentage: 0.25 → 25%."""
    ratio = _decimal("percent", value)
    return _babel("percent", lambda: format_percent(ratio, locale=_locality(context).locale))


@pass_context
def date_filter(context: Context, value: Any, format: str = "medium") -> str:
    """The calendar day of a date or datetime, in the customer's zone."""
    where = _locality(context)
    moment = _moment("date", value)
    day = moment.astimezone(where.zone).date() if isinstance(moment, datetime) else moment
    return _babel("date", lambda: format_date(day, format=format, locale=where.locale))


@pass_context
def datetime_filter(context: Context, value: Any, format: str = "medium") -> str:
    """A date and time of day, in the customer's zone."""
    where = _locality(context)
    moment = _moment("datetime", value)
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), tzinfo=where.zone)
    return _babel("datetime", lambda: format_datetime(moment, format=format, tzinfo=where.zone, locale=where.locale))


@pass_context
def time_filter(context: Context, value: Any, format: str = "short") -> str:
    """The time of day of a datetime, in the customer's zone."""
    where = _locality(context)
    moment = _moment("time", value)
    if not isinstance(moment, datetime):
        raise FilterError(f"time: {value!r} is a date without a time of day")
    return _babel("time", lambda: format_time(moment.astimezone(where.zone), format=format, locale=where.locale))


FILTERS: dict[str, Callable[..., str]] = {
    "number": number,
    "currency": currency,
    "percent": percent,
    "date": date_filter,
    "datetime": datetime_filter,
    "time": time_filter,
}
