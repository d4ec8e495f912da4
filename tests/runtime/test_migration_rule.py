"""The one rule of who moves where (`journey plan`, `journey deploy --migrate` and the enrollment itself read it)."""

from __future__ import annotations

import pytest

from orchestrator.runtime.migration import Moves, Stays, destination, mapping_problems, parse_mapping
from tests.runtime.support import journey

OLD = journey(
    """
    id: cart
    name: Cart
    trigger: {event: checkout_started}
    steps:
      - id: nap
        wait: 1h
      - id: remind
        send: {channel: email, subject: "Your cart", body: "x"}
      - id: reply
        wait_for: {event: replied, within: 1d}
      - id: last_call
        wait: 1d
      - id: nudge
        send: {channel: email, subject: "Last call", body: "x"}
    """
)
NEW = journey(
    """
    id: cart
    name: Cart
    trigger: {event: checkout_started}
    steps:
      - id: nap
        wait: 2h
      - id: remind
        send: {channel: email, subject: "Your cart is waiting", body: "x"}
      - id: reply
        wait: 1d
      - id: final_call
        wait: 3d
      - id: nudge
        send: {channel: email, subject: "Last call", body: "x"}
    """
)


def test_a_wait_step_the_new_version_keeps_moves_to_the_same_step_even_if_its_duration_changed() -> None:
    assert destination(OLD, NEW, "nap") == Moves("nap")


def test_a_removed_step_stays_on_the_old_version_and_says_why() -> None:
    stays = destination(OLD, NEW, "last_call")
    assert stays == Stays("removed", "last_call", "last_call")
    assert isinstance(stays, Stays) and stays.explain("v2") == "last_call is not in version v2"


def test_a_mapping_moves_a_removed_step_onto_the_step_it_names() -> None:
    assert destination(OLD, NEW, "last_call", {"last_call": "final_call"}) == Moves("final_call")


def test_a_mapping_overrides_a_step_that_still_exists() -> None:
    assert destination(OLD, NEW, "nap", {"nap": "final_call"}) == Moves("final_call")


def test_a_step_that_became_another_kind_of_wait_stays() -> None:
    stays = destination(OLD, NEW, "reply")
    assert isinstance(stays, Stays) and stays.reason == "other_kind"
    assert stays.explain("v2") == "reply is a wait step in version v2, not a wait_for step"


def test_nobody_moves_in_the_middle_of_a_send() -> None:
    stays = destination(OLD, NEW, "remind")
    assert isinstance(stays, Stays) and stays.reason == "not_a_wait"


def test_a_mapping_to_a_step_the_new_version_lacks_stays() -> None:
    stays = destination(OLD, NEW, "last_call", {"last_call": "gone"})
    assert isinstance(stays, Stays) and stays.explain("v2") == "last_call is mapped to gone, which is not in version v2"


def test_map_options_are_read_and_mistakes_are_named() -> None:
    assert parse_mapping(["last_call=final_call", " a = b "]) == {"last_call": "final_call", "a": "b"}
    with pytest.raises(ValueError, match="OLD_STEP=NEW_STEP"):
        parse_mapping(["last_call"])
    with pytest.raises(ValueError, match="given twice"):
        parse_mapping(["a=b", "a=c"])


def test_a_mapping_that_could_not_move_anyone_is_refused_with_the_reason() -> None:
    assert mapping_problems([OLD], NEW, {"last_call": "final_call"}) == []
    problems = mapping_problems([OLD], NEW, {"lastcall": "final_call", "remind": "nap", "nap": "nowhere", "reply": "nap"})
    assert problems == [
        f"--map lastcall=final_call: no older version has a step lastcall (versions: {OLD.version})",
        "--map remind=nap: remind is not a wait step, and only waiting enrollments move",
        f"--map nap=nowhere: version {NEW.version} has no step nowhere",
        "--map reply=nap: nap is a wait step, reply a wait_for step",
    ]
