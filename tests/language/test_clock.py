"""Local-time arithmetic for waits, across time zones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from orchestrator import ir
from orchestrator.language.clock import customer_zone, next_time_of_day, until_date_instant
from orchestrator.runtime.split import HOLDOUT, assign_split

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_next_nine_oclock_is_today_when_it_is_still_ahead_locally() -> None:
    # 12:00 UTC is 08:00 in New York (EDT): 09:00 local is one hour away.
    assert next_time_of_day(utc("2026-06-10T12:00:00"), NEW_YORK, "09:00") == utc("2026-06-10T13:00:00")


def test_next_nine_oclock_is_tomorrow_once_it_has_passed_locally() -> None:
    assert next_time_of_day(utc("2026-06-10T14:00:00"), NEW_YORK, "09:00") == utc("2026-06-11T13:00:00")


def test_the_same_local_hour_moves_in_utc_across_the_spring_forward_change() -> None:
    # New York springs forward on 2026-03-08: 09:00 is 14:00 UTC before and 13:00 UTC after.
    assert next_time_of_day(utc("2026-03-07T15:00:00"), NEW_YORK, "09:00") == utc("2026-03-08T13:00:00")
    assert next_time_of_day(utc("2026-03-06T15:00:00"), NEW_YORK, "09:00") == utc("2026-03-07T14:00:00")


def test_a_local_time_inside_the_spring_forward_gap_is_shifted_forward() -> None:
    # 02:30 does not exist in New York on 2026-03-08; it is sent at 03:30 EDT (07:30 UTC).
    assert next_time_of_day(utc("2026-03-08T05:00:00"), NEW_YORK, "02:30") == utc("2026-03-08T07:30:00")


def test_a_local_time_that_happens_twice_in_the_fall_back_uses_the_first() -> None:
    # 01:30 happens twice in New York on 2026-11-01; the first is 05:30 UTC (EDT).
    assert next_time_of_day(utc("2026-11-01T03:00:00"), NEW_YORK, "01:30") == utc("2026-11-01T05:30:00")


def test_weekday_restriction_skips_to_the_next_allowed_day() -> None:
    # 2026-06-12 is a Friday; the next Monday 10:00 in Paris (CEST) is 08:00 UTC on the 15th.
    assert next_time_of_day(utc("2026-06-12T12:00:00"), PARIS, "10:00", ("mon",)) == utc("2026-06-15T08:00:00")


def test_birthday_the_day_before_at_ten_local_is_the_next_anniversary() -> None:
    moment = until_date_instant(
        "1990-07-04", now=utc("2026-06-01T00:00:00"), zone=NEW_YORK, offset_seconds=-86400, at="10:00", repeat="yearly"
    )
    assert moment == utc("2026-07-03T14:00:00")


def test_a_birthday_already_past_this_year_waits_for_next_year() -> None:
    moment = until_date_instant("1990-03-04", now=utc("2026-06-01T00:00:00"), zone=PARIS, at="10:00", repeat="yearly")
    assert moment == utc("2027-03-04T09:00:00")  # CET, no DST in March 4th


def test_a_29_february_birthday_falls_on_28_february_in_other_years() -> None:
    moment = until_date_instant("2000-02-29", now=utc("2026-01-01T00:00:00"), zone=ZoneInfo("UTC"), at="09:00", repeat="yearly")
    assert moment == utc("2026-02-28T09:00:00")


def test_whole_day_offsets_keep_the_local_hour_across_a_dst_change() -> None:
    # Renewal on 2026-03-09 (after the change), reminder 2 days before at 10:00 local (EST, before the change).
    moment = until_date_instant("2026-03-09", now=utc("2026-01-01T00:00:00"), zone=NEW_YORK, offset_seconds=-2 * 86400, at="10:00")
    assert moment == utc("2026-03-07T15:00:00")


def test_an_until_date_in_the_past_is_returned_as_is_for_the_caller_to_skip() -> None:
    now = utc("2026-06-01T00:00:00")
    assert until_date_instant(date(2026, 1, 1), now=now, zone=PARIS) < now


def test_a_datetime_with_an_offset_keeps_its_instant() -> None:
    moment = until_date_instant("2026-09-01T08:00:00+02:00", now=utc("2026-01-01T00:00:00"), zone=NEW_YORK)
    assert moment == utc("2026-09-01T06:00:00")


def test_text_that_is_not_a_date_is_an_error() -> None:
    with pytest.raises(ValueError):
        until_date_instant("next tuesday", now=utc("2026-01-01T00:00:00"), zone=PARIS)


def test_customer_zone_falls_back_to_the_journey_default_for_a_bad_profile_zone() -> None:
    assert customer_zone("Mars/Olympus", "Europe/Paris") == PARIS
    assert customer_zone("America/New_York", "Europe/Paris") == NEW_YORK


SPLIT = ir.SplitStep("test", (ir.SplitPath("a", 45, "x"), ir.SplitPath("b", 45, "y")), holdout_weight=10)


def test_split_assignment_is_the_same_every_time_for_a_customer() -> None:
    assert {assign_split("cust-42", "subject_test", SPLIT) for _ in range(5)} == {assign_split("cust-42", "subject_test", SPLIT)}


def test_split_shares_follow_the_weights() -> None:
    groups = [assign_split(f"customer-{n}", "subject_test", SPLIT) for n in range(20_000)]
    shares = {name: groups.count(name) / len(groups) for name in ("a", "b", HOLDOUT)}
    assert shares["a"] == pytest.approx(0.45, abs=0.015)
    assert shares["b"] == pytest.approx(0.45, abs=0.015)
    assert shares[HOLDOUT] == pytest.approx(0.10, abs=0.01)


def test_split_assignment_differs_between_steps_of_the_same_journey() -> None:
    other = ir.SplitStep("second_test", SPLIT.paths, holdout_weight=10)
    same = sum(assign_split(f"c{n}", "j", SPLIT) == assign_split(f"c{n}", "j", other) for n in range(2000))
    assert same < 2000 * 0.6  # independent draws agree about 41% of the time
