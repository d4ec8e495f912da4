"""Numbers, money and dates in the customer's locale and time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from activities.messages import Undeliverable
from orchestrator.language.templating import check_template, render
from orchestrator.personalization.locales import Locality, parse_locale
from tests.personalization.support import build, request

ORDER = {"total": 1234.5, "count": 12345, "ratio": 0.25, "ordered_at": "2026-03-01T23:30:00Z"}


def shown(template: str, locale: str | None, zone: str = "UTC") -> str:
    where = Locality(parse_locale(locale), ZoneInfo(zone))
    return render(template, {"event": ORDER}, locality=where)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en_US", "$1,234.50"), ("en-US", "$1,234.50"), ("fr_FR", "1\u202f234,50\xa0$US"), ("de", "1.234,50\xa0$")],
)
def test_currency_is_written_the_customers_way(locale: str, expected: str) -> None:
    assert shown("{{ event.total | currency('USD') }}", locale) == expected


def test_number_and_percent_follow_the_locale() -> None:
    assert shown("{{ event.count | number }} {{ event.ratio | percent }}", "en") == "12,345 25%"
    assert shown("{{ event.count | number }}", "de") == "12.345"
    assert shown("{{ event.total | number(2) }}", "fr") == "1\u202f234,50"
    assert shown("{{ 3 | number(2) }}", "en") == "3.00"


def test_dates_are_in_the_customers_zone() -> None:
    # 23:30 UTC on March 1 is already March 2 in Paris, still March 1 in New York.
    assert shown("{{ event.ordered_at | date('long') }}", "en", "America/New_York") == "March 1, 2026"
    assert shown("{{ event.ordered_at | date('long') }}", "fr", "Europe/Paris") == "2 mars 2026"
    assert shown("{{ event.ordered_at | datetime('short') }}", "en_US", "America/New_York") == "3/1/26, 6:30\u202fPM"
    assert shown("{{ event.ordered_at | time }}", "fr", "Europe/Paris") == "00:30"
    assert shown("{{ '2026-12-24' | date('d MMMM y') }}", "de") == "24 Dezember 2026"


def test_an_unknown_locale_falls_back_to_english() -> None:
    assert shown("{{ event.total | currency('EUR') }}", "xx-YY") == "€1,234.50"
    assert shown("{{ event.total | currency('EUR') }}", None) == "€1,234.50"


def test_the_filters_are_known_to_the_compiler() -> None:
    template = "{{ event.total | currency('USD') }} {{ event.at | date('medium') }} {{ 1 | number }} {{ 1 | percent }}"
    assert check_template(template + "{{ event.at | datetime }} {{ event.at | time }}") == ()


def test_a_send_uses_the_profile_locale_and_zone() -> None:
    req = request(
        subject="Commande du {{ event.ordered_at | date('long') }}",
        body="<p>{{ event.total | currency('EUR') }}</p>",
        event=ORDER,
    )
    message = build(req, locale="fr-FR", timezone="Europe/Paris")
    assert message.subject == "Commande du 2 mars 2026"
    assert message.body.startswith("<p>1\u202f234,50\xa0€</p>")


def test_a_customer_without_a_zone_gets_the_journeys() -> None:
    req = request(subject="{{ event.ordered_at | date('long') }}", event=ORDER, timezone="Asia/Tokyo")
    assert build(req, locale="en").subject == "March 2, 2026"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ event.name | currency('USD') }}", "currency: 'shoes' is not a number"),
        ("{{ event.total | currency('dollars') }}", "'dollars' is not an ISO 4217 currency code"),
        ("{{ event.name | date }}", "date: 'shoes' is not an ISO 8601 date"),
        ("{{ event.flag | number }}", "number: True is not a number"),
        ("{{ event.total | number(99) }}", "digits must be a whole number from 0 to 12"),
        ("{{ '2026-01-01' | time }}", "a date without a time of day"),
    ],
)
def test_a_value_a_filter_cannot_format_fails_the_send_with_the_reason(template: str, reason: str) -> None:
    req = request(subject=template, event={"name": "shoes", "total": 10, "flag": True})
    with pytest.raises(Undeliverable, match="template error in subject") as failure:
        build(req)
    assert reason in str(failure.value)
