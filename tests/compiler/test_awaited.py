"""`events.<wait_for id>` in the compiler: where a read may find no match, what the IR remembers, and the drawing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator import ir
from orchestrator.compiler import Diagnostic, compile_text
from orchestrator.compiler.diagram import to_mermaid

ASK = "wait_for: {event: answered, within: 2d, timeout_next: nudge}"


def compiled(steps: str, *, top: str = "", directory: Path | None = None) -> tuple[ir.Journey | None, list[Diagnostic]]:
    body = textwrap.indent(textwrap.dedent(steps), "  ")
    text = f"id: asking\nname: Asking\ntrigger: {{event: go}}\n{textwrap.dedent(top)}steps:\n{body}"
    result = compile_text(text, file="asking.yaml", directory=directory or Path.cwd())
    return result.journey, list(result.diagnostics)


def warned(steps: str, **kwargs: str) -> list[str]:
    """`step: message` of each may-not-have-matched warning (the step being the one whose text reads)."""
    _, diagnostics = compiled(steps, **kwargs)
    assert all(d.severity == "warning" for d in diagnostics), diagnostics
    return [d.message.split(":")[0] for d in diagnostics if d.rule == "may-not-have-matched"]


def test_a_step_reached_only_when_the_wait_matched_reads_it_without_a_warning() -> None:
    assert warned(f"""
        - id: ask
          {ASK}
        - id: thanks
          send: {{channel: email, subject: "You said {{{{ events.ask.properties.n }}}}", body: x}}
          next: end
        - id: nudge
          send: {{channel: email, subject: "Still there?", body: x}}
        """) == []


@pytest.mark.parametrize(
    "wait",
    [
        "wait_for: {event: answered, within: 2d}",  # the timeout goes on to `next` too
        "wait_for: {event: answered, within: 2d, timeout_next: thanks}",
    ],
)
def test_a_step_the_timeout_also_reaches_is_warned_about(wait: str) -> None:
    assert warned(f"""
        - id: ask
          {wait}
        - id: thanks
          send: {{channel: email, subject: "You said {{{{ events.ask.properties.n }}}}", body: x}}
        """) == ["steps[1].send.subject"]


def test_a_wait_without_within_goes_on_only_when_it_matched() -> None:
    assert warned("""
        - id: ask
          wait_for: {event: answered}
        - id: thanks
          send: {channel: email, subject: "You said {{ events.ask.properties.n }}", body: x}
        """) == []


def test_a_step_before_the_wait_in_a_loop_is_warned_about_and_one_after_it_is_not() -> None:
    assert warned("""
        - id: echo
          send: {channel: email, subject: "Last time {{ events.ask.properties.n }}", body: x}
        - id: ask
          wait_for: {event: answered, within: 1d, timeout_next: end}
        - id: again
          branch:
            - when: "events.ask.properties.n < 3"
              next: echo
            - else: end
        """) == ["steps[0].send.subject"]


ROUTED = """
    - id: ask
      wait_for: {event: answered, within: 2d, timeout_next: nudge}
      next: route
    - id: nudge
      send: {channel: email, subject: "Still there?", body: x}
    - id: ask_again
      wait_for: {event: answered, within: 2d, timeout_next: end}
    - id: route
      branch:
        - when: "$SCORE >= 9"
          next: end
        - else: end
    """


@pytest.mark.parametrize(
    ("score", "warnings"),
    [
        ("events.ask.properties.n | default(events.ask_again.properties.n)", []),  # every way to route passes one
        ("events.ask.properties.n | default(0)", []),  # a fallback that is always there
        ("events.ask.properties.n", ["steps[3].branch[0].when"]),  # route is also reached through ask_again
    ],
)
def test_a_fallback_answers_the_warning_where_it_covers_every_path(score: str, warnings: list[str]) -> None:
    assert warned(ROUTED.replace("$SCORE", score)) == warnings


def test_goal_and_exit_on_may_read_events_without_a_warning_but_must_name_a_wait_for() -> None:
    top = """\
        goal: {event: bought, where: "events.ask.properties.n > 1"}
        exit_on: [{event: left, where: "events.asq is defined"}]
        """
    _, diagnostics = compiled(f"- id: ask\n  {ASK}\n- id: nudge\n  send: {{channel: sms, body: x}}\n", top=top)
    # No may-not-have-matched: only that reports, recording the goal at ingest, cannot see what a step matched.
    assert [(d.line, d.rule) for d in diagnostics] == [(4, "goal-where-reads-step"), (5, "unknown-awaited-step")]


def test_the_ir_remembers_only_the_waits_something_reads_and_the_drawing_says_so() -> None:
    journey, diagnostics = compiled("""
        - id: ask
          wait_for: {event: answered, within: 1d, timeout_next: end}
        - id: ignored
          wait_for: {event: answered, within: 1d, timeout_next: end}
        - id: thanks
          send: {channel: sms, body: "You said {{ events.ask.properties.n }}"}
        """)
    assert journey is not None and diagnostics == []
    assert {step.id: step.remembered for step in journey.steps if isinstance(step, ir.WaitForStep)} == {"ask": True, "ignored": False}
    drawing = to_mermaid(journey)
    assert 'n_ask -->|"answered<br/>as events.ask"| n_ignored' in drawing
    assert 'n_ignored -->|"answered"| n_thanks' in drawing


def test_ir_from_before_events_loads_remembering_nothing() -> None:
    journey, _ = compiled(f"- id: ask\n  {ASK}\n- id: nudge\n  send: {{channel: sms, body: x}}\n")
    assert journey is not None
    data = journey.to_dict()
    for step in data["steps"]:
        step.pop("remembered", None)
    (ask, _) = ir.Journey.from_dict(data).steps
    assert isinstance(ask, ir.WaitForStep) and ask.remembered is False


def test_a_read_in_a_template_file_is_reported_in_that_file(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "thanks.html").write_text("<p>Hi</p>\n<p>You said {{ events.nudge.name }}</p>\n", encoding="utf-8")
    _, diagnostics = compiled(
        f"- id: ask\n  {ASK}\n- id: nudge\n  send: {{channel: email, subject: Hi, template: templates/thanks.html}}\n",
        directory=tmp_path,
    )
    (problem,) = diagnostics
    assert (Path(problem.file).name, problem.line, problem.rule) == ("thanks.html", 2, "not-a-wait-for")
