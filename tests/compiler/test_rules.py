"""Every rule the compiler emits, pinned to an exact rule id, line, column and severity.

Each fixture in tests/compiler/fixtures/invalid/ is a mostly valid journey with exactly one
mistake, named after the rule it triggers (`<rule-id>.yaml`, or
`<rule-id>.<variant>.yaml` for another shape of the same mistake). The table
below says where the compiler must report it; the test also checks that nothing
else is reported, so a fixture never passes because of an unrelated finding.

Cases marked xfail(strict=True) are compiler bugs: they document the behaviour
the compiler should have and start failing (XPASS) once the bug is fixed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.compiler import Diagnostic, Severity, compile_paths

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = FIXTURES / "invalid"
VALID = FIXTURES / "valid"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "language.md"

ERROR = Severity.ERROR
WARNING = Severity.WARNING


@dataclass(frozen=True)
class Expect:
    rule: str
    line: int
    column: int
    severity: Severity = ERROR
    file: str | None = None
    """Where the finding must be, relative to tests/compiler/fixtures/invalid/; default: the compiled fixture."""
    contains: str | None = None
    """Text the message must contain."""


def case(
    fixture: str,
    *expected: Expect,
    id: str,
    xfail: str | None = None,
) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(fixture, expected, id=id, marks=marks)


def compile_fixture(fixture: str) -> list[Diagnostic]:
    return list(compile_paths([INVALID / fixture]).diagnostics)


def key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    return (d.file, d.line, d.column, str(d.severity), d.rule)


def shown(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.text() for d in diagnostics) or "(no diagnostics)"


# fmt: off
RULES = [
    # --- reading and parsing -------------------------------------------------------------------------------------
    case("yaml-syntax.yaml", Expect("yaml-syntax", 10, 23),
         id="yaml-syntax: an unquoted colon inside a value is reported at that colon"),
    case("duplicate-key.yaml", Expect("duplicate-key", 6, 1, contains="first defined at line 3"),
         id="duplicate-key: the second occurrence of a key is reported and points back to the first"),
    case("key-type.yaml", Expect("key-type", 12, 7, contains="404"),
         id="key-type: a number used as a key is reported at the key"),
    case("empty-file.yaml", Expect("empty-file", 1, 1),
         id="empty-file: a file with only comments is empty"),
    case("not-a-mapping.yaml", Expect("not-a-mapping", 1, 1, contains="a list"),
         id="not-a-mapping: a YAML list is not a journey"),
    case("not-a-journey.yaml", Expect("not-a-journey", 1, 1, contains="events script for `journey simulate --events`"),
         id="not-a-journey: an events script among the journeys says what it is and where it belongs"),
    case("not-a-journey.test-file.yaml", Expect("not-a-journey", 1, 1, contains="put it in a tests/ folder"),
         id="not-a-journey: a journey test file among the journeys says to move it to tests/"),
    # --- schema ----------------------------------------------------------------------------------------------------
    case("schema.yaml", Expect("schema", 4, 1, contains="unknown key 'descripton'; did you mean 'description'?"),
         id="schema: a misspelt top-level key is reported at the key with a did-you-mean suggestion"),
    case("invalid-id.yaml", Expect("invalid-id", 7, 9, contains="'Welcome-Email'"),
         id="invalid-id: a step id that is not snake_case"),
    case("invalid-id.journey-id.yaml", Expect("invalid-id", 2, 5, contains="'Invalid Journey'"),
         id="invalid-id: a journey id that is not snake_case"),
    case("invalid-id.reserved-end.yaml", Expect("invalid-id", 12, 9, contains="reserved"),
         id="invalid-id: a step called end is refused because end is a reserved target"),
    case("step-kind.yaml", Expect("step-kind", 12, 5, contains="does nothing"),
         id="step-kind: a step without a kind key"),
    case("step-kind.two-kinds.yaml", Expect("step-kind", 7, 5, contains="several kinds (send, wait)"),
         id="step-kind: a step with two kind keys names both"),
    case("trigger-kind.yaml", Expect("trigger-kind", 5, 3, contains="event, segment"),
         id="trigger-kind: a trigger with both event and segment names both"),
    case("trigger-kind.empty.yaml", Expect("trigger-kind", 4, 10, contains="event, segment, schedule"),
         id="trigger-kind: an empty trigger says which kinds to add"),
    case("schedule-kind.yaml", Expect("schedule-kind", 6, 5, contains="exactly one of `cron`"),
         id="schedule-kind: a schedule with both cron and at"),
    case("branch-item.yaml", Expect("branch-item", 9, 9),
         id="branch-item: a branch condition without next"),
    case("re-entry.yaml", Expect("re-entry", 7, 13, contains="'sometimes'"),
         id="re-entry: an unknown re-entry rule"),
    case("unknown-channel.yaml", Expect("unknown-channel", 9, 16, contains="did you mean 'email'?"),
         id="unknown-channel: a misspelt channel with a did-you-mean suggestion"),
    case("split-weight.yaml", Expect("split-weight", 11, 29, contains="weight 0"),
         id="split-weight: a path weight of zero"),
    case("split-weight.negative.yaml", Expect("split-weight", 14, 19, contains="weight -5"),
         id="split-weight: a negative path weight"),
    case("split-weight.holdout.yaml", Expect("split-weight", 12, 16),
         id="split-weight: a holdout of zero"),
    # --- control flow ----------------------------------------------------------------------------------------------
    case("duplicate-step-id.yaml", Expect("duplicate-step-id", 12, 9, contains="line 7"),
         id="duplicate-step-id: the second step with an id points back to the first"),
    case("unknown-target.yaml", Expect("unknown-target", 11, 11, contains="did you mean 'pause'?"),
         id="unknown-target: next names a missing step"),
    case("unknown-target.timeout-next.yaml", Expect("unknown-target", 11, 21, contains="did you mean 'nudge'?"),
         id="unknown-target: timeout_next names a missing step"),
    case("unknown-target.branch-next.yaml", Expect("unknown-target", 10, 15, contains="did you mean 'pro_welcome'?"),
         id="unknown-target: a branch condition's next names a missing step"),
    case("unknown-target.else.yaml", Expect("unknown-target", 11, 15, contains="'nowhere'"),
         id="unknown-target: a branch else names a missing step"),
    case("unknown-target.split-next.yaml", Expect("unknown-target", 15, 17, contains="'variant_c'"),
         id="unknown-target: a split path's next names a missing step"),
    case("unknown-target.cascade.yaml", Expect("unknown-target", 9, 11, contains="did you mean 'follow_up'?"),
         id="unknown-target: a misspelt next is the only finding, not also the steps behind it"),
    case("unknown-target.no-guess.yaml", Expect("unknown-target", 9, 11, contains="'onboarding_checklist'"),
         id="unknown-target: a next that resembles no step is the only finding, since it may have meant any step"),
    case("unreachable-step.yaml", Expect("unreachable-step", 13, 9, contains="'forgotten'"),
         id="unreachable-step: a step that no step leads to"),
    case("unreachable-step.beside-a-typo.yaml",
         Expect("unknown-target", 9, 11, contains="did you mean 'follow_up'?"),
         Expect("unreachable-step", 13, 9, contains="'forgotten'"),
         id="unreachable-step: a step nothing leads to is still reported beside a misspelt next"),
    case("loop-without-wait.yaml", Expect("loop-without-wait", 13, 15, contains="nag -> check -> nag"),
         id="loop-without-wait: a send-branch loop is reported at the edge that closes it"),
    case("next-not-allowed.yaml", Expect("next-not-allowed", 12, 5),
         id="next-not-allowed: a branch step with its own next"),
    case("branch-without-else.yaml", Expect("branch-without-else", 9, 7),
         id="branch-without-else: a branch with no final else"),
    case("else-not-last.yaml", Expect("else-not-last", 9, 9),
         id="else-not-last: an else before a condition"),
    case("duplicate-split-path.yaml", Expect("duplicate-split-path", 11, 18, contains="'a'"),
         id="duplicate-split-path: two split paths with the same name"),
    # --- expressions and templates ---------------------------------------------------------------------------------
    case("expression-syntax.yaml", Expect("expression-syntax", 7, 13),
         id="expression-syntax: an unclosed list in an inline expression"),
    case("expression-syntax.block-scalar.yaml", Expect("expression-syntax", 12, 11),
         id="expression-syntax: the error line inside a literal block scalar is the line of the mistake"),
    case("expression-syntax.folded-scalar.yaml", Expect("expression-syntax", 12, 11),
         id="expression-syntax: the error line inside a folded block scalar is the line of the mistake"),
    case("template-syntax.yaml", Expect("template-syntax", 10, 16),
         id="template-syntax: an unclosed tag in an inline template"),
    case("template-syntax.in-template-file.yaml",
         Expect("template-syntax", 3, 1, file="templates/broken_syntax.html", contains="endfi"),
         id="template-syntax: an error in a template file names the template file and its line"),
    case("unsafe-template.yaml", Expect("unsafe-template", 11, 13, contains="__mro__"),
         id="unsafe-template: dunder attributes like ''.__class__.__mro__"),
    case("unsafe-template.attr-filter.yaml", Expect("unsafe-template", 11, 13, contains="attr"),
         id="unsafe-template: the attr filter"),
    case("unsafe-template.lipsum-globals.yaml",
         # Both the Jinja global (which the sandbox does not have) and the dunder are refused as unsafe.
         Expect("unsafe-template", 11, 13, contains="__globals__"),
         id="unsafe-template: lipsum.__globals__"),
    case("unsafe-template.str-format.yaml", Expect("unsafe-template", 11, 13, contains="'format'"),
         id="unsafe-template: the str.format method"),
    case("unsafe-template.format-map.yaml", Expect("unsafe-template", 11, 13, contains="'format_map'"),
         id="unsafe-template: the str.format_map method"),
    case("unsafe-template.cycler-init.yaml", Expect("unsafe-template", 11, 13, contains="__globals__"),
         id="unsafe-template: cycler.__init__.__globals__"),
    case("unsafe-template.self-context.yaml", Expect("unsafe-template", 11, 13, contains="_TemplateReference__context"),
         id="unsafe-template: self._TemplateReference__context"),
    case("unsafe-template.config-global.yaml", Expect("unsafe-template", 11, 13, contains="'config'"),
         id="unsafe-template: a Flask-style config global"),
    case("unsafe-template.request-global.yaml", Expect("unsafe-template", 11, 13, contains="'request'"),
         id="unsafe-template: a Flask-style request global"),
    case("unsafe-template.locale-variant.yaml",
         Expect("unsafe-template", 2, 1, file="templates/offer.fr.html", contains="__class__"),
         id="unsafe-template: a per-locale variant of a template file is checked like the file"),
    case("unknown-filter.yaml", Expect("unknown-filter", 10, 16, contains="'capitalise'"),
         id="unknown-filter: a filter that does not exist, in a template"),
    case("unknown-filter.expression.yaml", Expect("unknown-filter", 7, 13, contains="'uppercase'"),
         id="unknown-filter: a filter that does not exist, in an expression"),
    case("unknown-filter.test.yaml", Expect("unknown-filter", 10, 13, contains="'valid_phone'"),
         id="unknown-filter: a Jinja test that does not exist"),
    case("unknown-variable.yaml", Expect("unknown-variable", 10, 16, contains="'user'"),
         id="unknown-variable: a name outside customer, event and journey"),
    case("missing-template.yaml", Expect("missing-template", 11, 17, contains="no_such_template.html"),
         id="missing-template: a template file that does not exist"),
    case("template-outside-folder.yaml", Expect("template-outside-folder", 11, 17),
         id="template-outside-folder: a template path that climbs out with ../"),
    case("body-and-template.yaml", Expect("body-and-template", 12, 17),
         id="body-and-template: a send with both body and template"),
    # --- channels ----------------------------------------------------------------------------------------------------
    case("send-missing-field.yaml", Expect("send-missing-field", 9, 7, contains="subject"),
         id="send-missing-field: an email without a subject"),
    case("send-missing-field.sms-body.yaml", Expect("send-missing-field", 9, 7, contains="body"),
         id="send-missing-field: an sms without a body"),
    case("send-missing-field.push.yaml", Expect("send-missing-field", 9, 7, contains="title or body"),
         id="send-missing-field: a push with neither title nor body"),
    case("unused-field.yaml", Expect("unused-field", 10, 7, WARNING, contains="`subject`"),
         id="unused-field: a subject on an sms is a warning at the key"),
    # --- profile updates and webhooks ------------------------------------------------------------------------------
    case("protected-trait.yaml", Expect("protected-trait", 9, 26, contains="consent is the customer's to give"),
         id="protected-trait: a journey cannot grant itself consent with set"),
    case("protected-trait.unset.yaml", Expect("protected-trait", 9, 28, contains="`email_undeliverable`"),
         id="protected-trait: a journey cannot clear an undeliverable flag with unset"),
    case("invalid-trait-value.yaml", Expect("invalid-trait-value", 10, 19, contains="'Mars/Olympus_Mons' is not an IANA time zone"),
         id="invalid-trait-value: a literal reserved trait value identify would refuse"),
    case("invalid-url.yaml", Expect("invalid-url", 9, 12, contains="http:// or https://"),
         id="invalid-url: a webhook URL without a scheme"),
    case("invalid-url.empty.yaml", Expect("invalid-url", 9, 12, contains="is empty"),
         id="invalid-url: an empty webhook URL"),
    # --- time values ---------------------------------------------------------------------------------------------
    case("invalid-duration.yaml", Expect("invalid-duration", 8, 11, contains="'2 days'"),
         id="invalid-duration: a duration written in words"),
    case("invalid-duration.zero.yaml", Expect("invalid-duration", 8, 11, contains="zero"),
         id="invalid-duration: a zero duration"),
    case("invalid-duration.offset.yaml", Expect("invalid-duration", 10, 15, contains="'1 day before'"),
         id="invalid-duration: a bad wait offset is the only finding"),
    case("invalid-time-of-day.yaml", Expect("invalid-time-of-day", 7, 23, contains="'25:00'"),
         id="invalid-time-of-day: 25:00 in quiet hours"),
    case("invalid-time-of-day.wait-until.yaml", Expect("invalid-time-of-day", 8, 19, contains="'25:00'"),
         id="invalid-time-of-day: a bad wait until is the only finding"),
    case("invalid-timezone.yaml", Expect("invalid-timezone", 7, 13, contains="'Europe/Pariss'"),
         id="invalid-timezone: a misspelt IANA zone"),
    case("invalid-cron.yaml", Expect("invalid-cron", 6, 11),
         id="invalid-cron: a six-field cron expression"),
    case("invalid-datetime.yaml", Expect("invalid-datetime", 6, 9),
         id="invalid-datetime: a schedule at written in words"),
    case("invalid-quiet-hours.yaml", Expect("invalid-quiet-hours", 7, 16),
         id="invalid-quiet-hours: quiet hours that start and end at the same time"),
    # --- triggers and waits ----------------------------------------------------------------------------------------
    case("schedule-needs-audience.yaml", Expect("schedule-needs-audience", 6, 5),
         id="schedule-needs-audience: a broadcast without entry.audience"),
    case("timeout-without-within.yaml", Expect("timeout-without-within", 10, 21),
         id="timeout-without-within: timeout_next without within"),
    case("wait-forever.yaml", Expect("wait-forever", 9, 7, WARNING),
         id="wait-forever: a wait_for without within is a warning"),
    case("no-trigger-event.yaml", Expect("no-trigger-event", 8, 32, WARNING),
         id="no-trigger-event: event in a segment-triggered journey is a warning"),
    case("no-journey-step.yaml", Expect("no-journey-step", 6, 10, contains="`journey` holds id, version"),
         id="no-journey-step: journey.step in the trigger's where"),
    case("no-journey-step.segment.yaml", Expect("no-journey-step", 5, 12),
         id="no-journey-step: journey.step in a segment"),
    case("no-journey-step.entry-audience.yaml", Expect("no-journey-step", 7, 13),
         id="no-journey-step: journey['step'] in entry.audience"),
    # --- events.<wait_for id> ---------------------------------------------------------------------------------------
    case("unknown-awaited-step.yaml", Expect("unknown-awaited-step", 10, 15, contains="did you mean 'await_score'?"),
         id="unknown-awaited-step: events.X where no step is named X"),
    case("not-a-wait-for.yaml", Expect("not-a-wait-for", 16, 9, contains="'survey_email' is a send step"),
         id="not-a-wait-for: events.X where X is a send, at its line in a block scalar"),
    case("awaited-step-not-named.yaml", Expect("awaited-step-not-named", 10, 15),
         id="awaited-step-not-named: events read by a computed key"),
    case("may-not-have-matched.yaml", Expect("may-not-have-matched", 9, 37, WARNING, contains="without 'await_score' matching"),
         id="may-not-have-matched: a step also reached when the wait times out"),
    case("no-awaited-events.yaml", Expect("no-awaited-events", 6, 10),
         id="no-awaited-events: events in the trigger's where"),
    # --- what a journey measures: the goal's value and metrics ------------------------------------------------------
    case("unknown-metric-kind.yaml", Expect("unknown-metric-kind", 8, 11, contains="did you mean 'csat'?"),
         id="unknown-metric-kind: a misspelt metric kind with a did-you-mean suggestion"),
    case("too-many-metrics.yaml", Expect("too-many-metrics", 7, 3, contains="21 metrics, more than the 20"),
         id="too-many-metrics: a journey declares at most 20 metrics"),
    case("duplicate-metric-id.yaml", Expect("duplicate-metric-id", 8, 10, contains="line 7"),
         id="duplicate-metric-id: the second metric with an id points back to the first"),
    case("invalid-id.metric-id.yaml", Expect("invalid-id", 7, 10, contains="'CSAT-score'"),
         id="invalid-id: a metric id that is not snake_case"),
    case("expression-syntax.metric-value.yaml", Expect("expression-syntax", 10, 12, contains="metrics[0].value"),
         id="expression-syntax: a metric's value that does not parse"),
    case("unknown-variable.goal-value.yaml", Expect("unknown-variable", 6, 39, contains="'order'"),
         id="unknown-variable: the goal's value reads a name out of scope"),
    case("no-journey-step.metric-where.yaml", Expect("no-journey-step", 11, 12, contains="metrics[0].where"),
         id="no-journey-step: journey.step in a metric's where, evaluated when the answer arrives"),
    case("no-awaited-events.goal-value.yaml", Expect("no-awaited-events", 6, 39, contains="goal.value"),
         id="no-awaited-events: events in the goal's value, evaluated when the goal event arrives"),
    case("goal-where-reads-step.yaml", Expect("goal-where-reads-step", 6, 39, WARNING, contains="reports record a goal"),
         id="goal-where-reads-step: a goal's where that reads journey.step is a warning: reports cannot know the step"),
    # --- across files ----------------------------------------------------------------------------------------------
    case("duplicate-journey-id",
         Expect("duplicate-journey-id", 2, 5, file="duplicate-journey-id/first.yaml", contains="second.yaml"),
         Expect("duplicate-journey-id", 3, 7, file="duplicate-journey-id/second.yaml", contains="first.yaml"),
         id="duplicate-journey-id: both files of a folder are reported at their id"),
    case("duplicate-journey-id/first.yaml",
         Expect("duplicate-journey-id", 2, 5, contains="second.yaml"),
         id="duplicate-journey-id: validating one file still finds the sibling with the same id"),
    case("duplicate-journey-id/second.yaml",
         Expect("duplicate-journey-id", 3, 7, contains="first.yaml"),
         id="duplicate-journey-id: validating the other file alone finds it too"),
]
# fmt: on


@pytest.mark.parametrize(("fixture", "expected"), RULES)
def test_rule(fixture: str, expected: tuple[Expect, ...]) -> None:
    diagnostics = compile_fixture(fixture)
    wanted = set()
    for e in expected:
        file = str(INVALID / (e.file or fixture))
        found = [d for d in diagnostics if key(d) == (file, e.line, e.column, str(e.severity), e.rule)]
        assert found, f"expected {e.severity} [{e.rule}] at {e.file or fixture}:{e.line}:{e.column}, got:\n{shown(diagnostics)}"
        if e.contains:
            assert any(e.contains in d.message for d in found), f"expected {e.contains!r} in:\n{shown(found)}"
        wanted.add(key(found[0]))
    others = [d for d in diagnostics if key(d) not in wanted]
    assert not others, f"the fixture should have exactly one mistake, but the compiler also reports:\n{shown(others)}"


def test_every_fixture_is_in_the_table() -> None:
    """A fixture file nobody asserts on would silently test nothing."""
    used = {Path(p.values[0]).parts[0] for p in RULES}
    files = {p.name for p in INVALID.iterdir() if p.suffix == ".yaml" or p.is_dir()} - {"templates", "multiple"}
    assert files - used == set()


def documented_rules() -> set[str]:
    return set(re.findall(r"^\| `([a-z-]+)` \| (?:error|warning) \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE))


@pytest.mark.skipif(not DOCS.is_file(), reason="docs/language.md is not there")
def test_every_documented_rule_has_a_fixture() -> None:
    tested = {e.rule for p in RULES for e in p.values[1]} | {"file-unreadable"}  # file-unreadable: see below
    documented = documented_rules()
    assert documented, "the rule table in docs/language.md was not found"
    assert documented - tested == set()


def test_every_rule_named_in_the_schema_has_a_fixture() -> None:
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "journey.schema.json").read_text(encoding="utf-8"))
    x_rules = set(re.findall(r'"x-rule": "([a-z-]+)"', json.dumps(schema)))
    tested = {e.rule for p in RULES for e in p.values[1]}
    assert x_rules
    assert x_rules - tested == set()


def test_documented_severities_match() -> None:
    if not DOCS.is_file():
        pytest.skip("docs/language.md is not there")
    text = DOCS.read_text(encoding="utf-8")
    severities = dict(re.findall(r"^\| `([a-z-]+)` \| (error|warning) \|", text, re.MULTILINE))
    for p in RULES:
        for e in p.values[1]:
            if e.rule in severities:
                assert severities[e.rule] == str(e.severity), e.rule


# --- reading: files that are not journeys never crash the compiler -----------------------------------------------


def test_non_utf8_file_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: caf\xe9\nname: Caf\xe9\n".encode("latin-1"))
    diagnostics = list(compile_paths([path]).diagnostics)
    assert [key(d) for d in diagnostics] == [(str(path), 1, 1, "error", "file-unreadable")], shown(diagnostics)
    assert "UTF-8" in diagnostics[0].message


NOT_JOURNEYS = [
    pytest.param(b"", "empty-file", id="a zero-byte file is empty"),
    pytest.param(b"---\n", "empty-file", id="a lone document marker is empty"),
    pytest.param(b"- id: a\n- id: b\n", "not-a-mapping", id="a YAML list"),
    pytest.param(b"hello\n", "not-a-mapping", id="a single word"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "file-unreadable", id="a PNG header"),
    pytest.param(b"Dear team: : this is our plan: send emails\n", "yaml-syntax", id="prose with colons"),
    pytest.param(b"Hi,\nIt is : : prose.\n", "yaml-syntax", id="prose with an empty key"),
    pytest.param(b'{"id": "x", "name": "y"', "yaml-syntax", id="truncated JSON"),
    pytest.param(b"id: x\n---\nid: y\n", "yaml-syntax", id="two YAML documents"),
    pytest.param(b"id: a\x00b\n", "yaml-syntax", id="a NUL byte"),
    pytest.param(b"steps: &s\n  - *s\n", "yaml-syntax", id="an alias that contains itself"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "yaml-syntax", id="5000 nested lists"),
    pytest.param(b"id: x\nsteps: " + b"[" * 5000 + b"]" * 5000, "yaml-syntax", id="5000 nested lists as steps"),
]


@pytest.mark.parametrize(("content", "rule"), NOT_JOURNEYS)
def test_a_file_that_is_not_a_journey_never_raises(tmp_path: Path, content: bytes, rule: str) -> None:
    path = tmp_path / "not_a_journey.yaml"
    path.write_bytes(content)
    project = compile_paths([path])
    assert project.results[0].journey is None
    assert [d.rule for d in project.diagnostics] == [rule], shown(list(project.diagnostics))


def test_a_control_character_is_reported_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "bell.yaml"
    path.write_text('id: bell\nname: Bell\ntrigger:\n  event: x\nsteps:\n  - id: a\n    send: {channel: sms, body: "hi\x07"}\n')
    diagnostics = list(compile_paths([path]).diagnostics)
    assert [key(d)[1:] for d in diagnostics] == [(7, 35, "error", "yaml-syntax")], shown(diagnostics)


def test_a_deeply_nested_webhook_body_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(
        "id: deep\nname: Deep\ntrigger:\n  event: x\nsteps:\n  - id: a\n    webhook:\n"
        f"      url: https://example.com\n      body: {'[' * 1000}{']' * 1000}\n"
    )
    compile_paths([path])  # any diagnostic is fine, a traceback is not


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["id: laughs", "name: Laughs", "trigger:", "  event: x", 'a0: &a0 ["lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines += ["steps:", "  - id: a", "    webhook:", "      url: https://example.com", "      body: *a8"]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    code = "import sys; from orchestrator.compiler import compile_paths; compile_paths([sys.argv[1]])"
    try:
        subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=2, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("compiling an alias bomb took more than 2 seconds")


def test_too_deep_nesting_is_not_blamed_on_an_alias(tmp_path: Path) -> None:
    path = tmp_path / "deep_steps.yaml"
    path.write_bytes(b"id: x\nsteps: " + b"[" * 5000 + b"]" * 5000)
    (diagnostic,) = compile_paths([path]).diagnostics
    assert diagnostic.rule == "yaml-syntax"
    assert "alias" not in diagnostic.message, diagnostic.message


# --- reporting --------------------------------------------------------------------------------------------------


FIVE_MISTAKES = INVALID / "multiple" / "five-mistakes.yaml"


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    diagnostics = list(compile_paths([FIVE_MISTAKES]).diagnostics)
    assert [(d.line, d.column, d.rule) for d in diagnostics] == [
        (6, 1, "duplicate-key"),
        (9, 32, "invalid-duration"),
        (14, 16, "unknown-variable"),
        (16, 7, "schema"),
        (17, 11, "unknown-target"),
    ], shown(diagnostics)


def test_errors_come_out_sorted_by_line() -> None:
    lines = [d.line for d in compile_paths([FIVE_MISTAKES]).diagnostics]
    assert len(lines) == 5
    assert lines == sorted(lines)


def test_findings_of_a_folder_come_out_sorted_by_file_and_line(tmp_path: Path) -> None:
    body = "trigger:\n  event: x\nsteps:\n  - id: a\n    wait: 1d\n    next: nowhere\n"
    (tmp_path / "first.yaml").write_text("id: same\nname: First\n" + body)
    (tmp_path / "second.yaml").write_text("id: same\nname: Second\n" + body)
    diagnostics = list(compile_paths([tmp_path]).diagnostics)
    assert len(diagnostics) == 4, shown(diagnostics)
    positions = [(d.file, d.line, d.column) for d in diagnostics]
    assert positions == sorted(positions), shown(diagnostics)


def test_a_valid_journey_with_a_warning_still_compiles() -> None:
    project = compile_paths([VALID / "warning-only.yaml"])
    (result,) = project.results
    assert result.journey is not None
    assert [(d.severity, d.rule) for d in project.diagnostics] == [(WARNING, "wait-forever")]


def test_valid_fixtures_have_no_errors() -> None:
    project = compile_paths([VALID])
    assert all(r.journey is not None for r in project.results)
    assert not [d for d in project.diagnostics if d.severity is ERROR], shown(list(project.diagnostics))


def test_a_fixture_with_errors_produces_no_journey() -> None:
    (result,) = compile_paths([INVALID / "unknown-target.yaml"]).results
    assert result.journey is None
    assert result.journey_id == "unknown_target_next"


# --- the `journey validate` command --------------------------------------------------------------------------------


def validate(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_exits_0_for_valid_journeys() -> None:
    code, out, err = validate(VALID / "welcome.yaml")
    assert code == 0, out + err
    assert out == ""
    assert "1 journey file(s) checked: 0 error(s), 0 warning(s)" in err


def test_cli_exits_0_for_warnings_only() -> None:
    code, out, _ = validate(VALID / "warning-only.yaml")
    assert code == 0
    assert "warning: " in out
    assert "[wait-forever]" in out


def test_cli_exits_1_for_errors_and_prints_path_line_column() -> None:
    fixture = INVALID / "unknown-target.yaml"
    code, out, err = validate(fixture)
    assert code == 1
    assert out.strip() == (f"{fixture}:11:11: error: steps[1].next: no step named 'pasue'; did you mean 'pause'? [unknown-target]")
    assert "1 error(s)" in err


def test_cli_strict_fails_on_warnings() -> None:
    code, out, _ = validate("--strict", VALID / "warning-only.yaml")
    assert code == 1
    assert "[wait-forever]" in out


def test_cli_strict_passes_a_journey_without_findings() -> None:
    code, _, _ = validate("--strict", VALID / "welcome.yaml")
    assert code == 0


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([str(FIXTURES / "no_such_file.yaml")], id="a missing path"),
        pytest.param(["--format", "xml", str(VALID)], id="an unknown format"),
        pytest.param([], id="no path at all"),
        pytest.param([str(INVALID / "templates")], id="a folder without journey files"),
    ],
)
def test_cli_exits_2_when_used_wrongly(args: list[str]) -> None:
    code, _, _ = validate(*args)
    assert code == 2


def test_cli_json_format_lists_every_finding() -> None:
    code, out, _ = validate("--format", "json", FIVE_MISTAKES)
    assert code == 1
    findings = json.loads(out)
    assert isinstance(findings, list)
    assert len(findings) == 5
    for finding in findings:
        assert set(finding) == {"file", "line", "column", "severity", "rule", "message"}
        assert finding["file"] == str(FIVE_MISTAKES)
        assert isinstance(finding["line"], int)
        assert isinstance(finding["column"], int)
        assert finding["severity"] == "error"
    assert findings[0] == {
        "file": str(FIVE_MISTAKES),
        "line": 6,
        "column": 1,
        "severity": "error",
        "rule": "duplicate-key",
        "message": "duplicate key 'name' (first defined at line 3); YAML would silently keep only the last one, "
        "so remove or rename one of them",
    }


def test_cli_json_format_prints_an_empty_list_for_valid_journeys() -> None:
    code, out, _ = validate("--format", "json", VALID / "welcome.yaml")
    assert code == 0
    assert json.loads(out) == []


def test_cli_github_format_prints_annotations() -> None:
    code, out, _ = validate("--format", "github", FIVE_MISTAKES)
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 5
    pattern = re.compile(rf"::error file={re.escape(str(FIVE_MISTAKES))},line=(\d+),col=(\d+)::.+ \[[a-z-]+\]")
    assert all(pattern.fullmatch(line) for line in lines), out
    assert lines[0].startswith(f"::error file={FIVE_MISTAKES},line=6,col=1::duplicate key 'name'")


def test_cli_github_format_prints_warnings_as_warnings() -> None:
    code, out, _ = validate("--format", "github", VALID / "warning-only.yaml")
    assert code == 0
    assert out.strip().startswith(f"::warning file={VALID / 'warning-only.yaml'},line=9,col=7::")


def test_cli_github_format_escapes_the_file_property(tmp_path: Path) -> None:
    path = tmp_path / "cart,v2.yaml"
    path.write_text("id: cart_v2\nname: Cart\ntrigger:\n  event: x\nsteps:\n  - id: a\n    wait: 1d\n    next: nowhere\n")
    _, out, _ = validate("--format", "github", path)
    assert out.startswith(f"::error file={str(path).replace(',', '%2C')},line=8,col=11::"), out


def test_cli_validates_a_folder_and_reports_duplicate_ids_in_it() -> None:
    code, out, _ = validate(INVALID / "duplicate-journey-id")
    assert code == 1
    assert out.count("[duplicate-journey-id]") == 2


def test_cli_never_prints_a_traceback_for_files_that_are_not_journeys(tmp_path: Path) -> None:
    (tmp_path / "image.yaml").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "prose.yaml").write_text("Hi: : there\n")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "empty.yml").write_text("")
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(tmp_path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    rules = sorted(f["rule"] for f in json.loads(result.stdout))
    assert rules == ["empty-file", "file-unreadable", "not-a-mapping", "yaml-syntax"]


def test_template_file_findings_point_into_the_template_file_in_every_format() -> None:
    fixture = INVALID / "template-syntax.in-template-file.yaml"
    _, out, _ = validate("--format", "json", fixture)
    (finding,) = json.loads(out)
    assert finding["file"] == str(INVALID / "templates" / "broken_syntax.html")
    assert (finding["line"], finding["rule"]) == (3, "template-syntax")


def test_the_shipped_journeys_validate() -> None:
    journeys = Path(__file__).resolve().parents[2] / "journeys"
    if not journeys.is_dir():
        pytest.skip("no journeys/ folder")
    project = compile_paths([journeys])
    errors = [d for d in project.diagnostics if d.severity is ERROR]
    assert not errors, shown(errors)


def test_inline_text_compiles_like_a_file(tmp_path: Path) -> None:
    """compile_paths on a file written from a test behaves like a committed fixture."""
    path = tmp_path / "inline.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            id: inline
            name: Inline
            trigger:
              event: signed_up
            steps:
              - id: welcome
                send: {channel: sms, body: "Hi {{ customer.first_name | default('there') }}"}
            """
        )
    )
    project = compile_paths([path])
    assert project.diagnostics == ()
    assert project.results[0].journey is not None
