"""What the compiler learns from a text about `events`: which wait_for matches it reads, and which would do instead."""

from __future__ import annotations

import pytest

from orchestrator.language.awaited_reads import AwaitedRead, awaited_reads


def reads(source: str, *, expression: bool = True) -> list[tuple[str | None, int, frozenset[str] | None]]:
    return [(r.step, r.lineno, r.given_by) for r in awaited_reads(source, expression=expression)]


@pytest.mark.parametrize(
    "source",
    ["events.ask.properties.score >= 9", "events['ask'].properties.score >= 9", "events.ask is defined", "events.ask.name"],
)
def test_a_read_names_its_step_and_needs_that_step_to_have_matched(source: str) -> None:
    assert reads(source) == [("ask", 1, frozenset({"ask"}))]


def test_a_fallback_that_is_no_awaited_event_always_gives_a_value() -> None:
    assert reads("events.ask.properties.score | default(0) >= 9") == [("ask", 1, None)]
    assert reads("{{ events.ask.properties.score | d('none') }}", expression=False) == [("ask", 1, None)]


def test_a_fallback_on_another_awaited_event_gives_a_value_where_either_matched() -> None:
    either = frozenset({"ask", "ask_again"})
    assert reads("events.ask.properties.score | default(events.ask_again.properties.score) >= 9") == [
        ("ask", 1, either),
        ("ask_again", 1, either),
    ]
    # ...and a last fallback that always has a value covers both.
    assert reads("events.ask.x | default(events.ask_again.x) | default(0)") == [("ask", 1, None), ("ask_again", 1, None)]


def test_a_read_without_a_written_step_id_is_named_none() -> None:
    assert [r.step for r in awaited_reads("events[journey.step] or events", expression=True)] == [None, None]


def test_reads_in_a_template_carry_their_line() -> None:
    template = "Hi {{ customer.first_name }},\n{% if events.ask is defined %}\nyou said {{ events.ask.properties.score }}{% endif %}"
    assert reads(template, expression=False) == [("ask", 2, frozenset({"ask"})), ("ask", 3, frozenset({"ask"}))]


def test_a_text_that_reads_no_events_or_does_not_parse_has_no_reads() -> None:
    assert awaited_reads("customer.events.ask", expression=True) == ()
    assert awaited_reads("events.ask >", expression=True) == ()
    assert isinstance(awaited_reads("events.ask", expression=True)[0], AwaitedRead)
