"""Property tests of the compiler, with Hypothesis.

* Random valid journeys (tests/compiler/strategies.py) compile to exactly the graph they
  describe; the IR round-trips through dicts and JSON, its version is a stable
  content hash, and both diagram formats draw every step.
* One mutation of a valid journey never makes the compiler raise: it reports
  located errors, and mutations known to break a rule report that rule.
* Arbitrary text and arbitrary YAML values never make the compiler raise.

Runs are derandomized (the same examples every run, no example database), so
CI is reproducible. Crashes found by exploring are kept below as explicit
examples, marked as strict expected failures until the compiler is fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from orchestrator import ir
from orchestrator.compiler import CompileResult, Severity, compile_text, format_diagnostics, has_errors
from orchestrator.compiler.diagram import to_dot, to_mermaid
from orchestrator.compiler.schema import journey_schema
from orchestrator.compiler.yaml_loader import YamlSyntaxError, load_yaml
from tests.compiler.strategies import (
    TEMPLATE_FILES,
    GeneratedJourney,
    Mutation,
    change_content,
    corrupted_journeys,
    dump_any,
    dump_json,
    journey_shaped_values,
    journey_texts,
    json_values,
    mutated_journeys,
    render,
    text_mutated_journeys,
    write_templates,
)

FILE = "j.yaml"
EXPECTED_WARNINGS = frozenset({"wait-forever", "no-trigger-event"})
"""Warnings a generated valid journey may get: a wait_for without `within`, `event` read in a segment journey."""


def examples(count: int) -> settings:
    """Reproducible Hypothesis settings: the same `count` examples on every run, no example database."""
    return settings(
        derandomize=True,
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module")
def journey_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the template files generated journeys refer to."""
    directory = tmp_path_factory.mktemp("journeys")
    write_templates(directory)
    return directory


def compile_in(directory: Path, text: str, file: str = FILE) -> CompileResult:
    return compile_text(text, file=file, directory=directory)


def assert_well_formed(result: CompileResult) -> None:
    """What every compile result must satisfy, valid or not."""
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert (result.journey is None) == bool(errors), "a journey is produced exactly when there is no error"
    assert has_errors(result.diagnostics) == bool(errors)
    for d in result.diagnostics:
        assert d.file in (FILE, *TEMPLATE_FILES), d
        assert isinstance(d.line, int) and d.line >= 1, d
        assert isinstance(d.column, int) and d.column >= 1, d
        assert d.severity in (Severity.ERROR, Severity.WARNING), d
        assert isinstance(d.rule, str) and d.rule.strip(), d
        assert isinstance(d.message, str) and d.message.strip(), d
        assert "\n" not in d.github(), d
    for fmt in ("text", "json", "github"):
        format_diagnostics(list(result.diagnostics), fmt)


def check_never_crashes(directory: Path, text: str) -> CompileResult:
    result = compile_in(directory, text)
    assert_well_formed(result)
    return result


def error_rules(result: CompileResult) -> set[str]:
    return {d.rule for d in result.diagnostics if d.severity is Severity.ERROR}


# --- valid journeys ----------------------------------------------------------------------


def targets_of(step: ir.Step) -> list[str]:
    match step:
        case ir.BranchStep():
            return [c.next for c in step.cases] + [step.else_next]
        case ir.SplitStep():
            return [p.next for p in step.paths]
        case ir.ExitStep():
            return []
        case ir.WaitForStep():
            return [step.next] + ([step.timeout_next] if step.timeout_next else [])
        case _:
            return [step.next]


def assert_graph_invariants(journey: ir.Journey) -> None:
    """Closed targets, every step reachable from `start`, every loop through a wait."""
    ids = [s.id for s in journey.steps]
    assert len(set(ids)) == len(ids)
    assert journey.start == ids[0]
    successors = {s.id: targets_of(s) for s in journey.steps}
    for source, targets in successors.items():
        assert set(targets) <= {*ids, ir.END}, (source, targets)
    seen, stack = {journey.start}, [journey.start]
    while stack:
        for target in successors[stack.pop()]:
            if target != ir.END and target not in seen:
                seen.add(target)
                stack.append(target)
    assert seen == set(ids)
    # Without the edges that leave a wait, the graph must have no cycle.
    kinds = {s.id: s for s in journey.steps}
    waits = (ir.WaitStep, ir.WaitUntilStep, ir.WaitUntilDateStep, ir.WaitForStep)
    remaining = {i: [t for t in successors[i] if t != ir.END] for i in ids if not isinstance(kinds[i], waits)}
    remaining = {i: [t for t in ts if t in remaining] for i, ts in remaining.items()}
    while remaining:
        sinks = [i for i, ts in remaining.items() if not ts]
        assert sinks, f"loop without a wait among {sorted(remaining)}"
        for sink in sinks:
            del remaining[sink]
        remaining = {i: [t for t in ts if t in remaining] for i, ts in remaining.items()}


def assert_matches_document(journey: ir.Journey, generated: GeneratedJourney) -> None:
    doc = generated.doc
    assert journey.id == doc["id"]
    assert journey.name == doc["name"]
    assert [s.id for s in journey.steps] == generated.step_ids
    assert set(journey.events) == generated.events
    assert list(journey.events) == sorted(set(journey.events))
    for written, step in zip(doc["steps"], journey.steps, strict=True):
        if step.id in generated.next_of:
            assert step.next == generated.next_of[step.id], step  # type: ignore[union-attr]
        if step.id in generated.seconds_of:
            assert isinstance(step, ir.WaitStep) and step.seconds == generated.seconds_of[step.id]
        match step:
            case ir.WaitForStep():
                assert step.timeout_next == generated.timeout_of[step.id]
                assert (step.within_seconds is None) == ("within" not in written["wait_for"])
            case ir.BranchStep():
                assert [(c.when, c.next) for c in step.cases] == [(b["when"], b["next"]) for b in written["branch"][:-1]]
                assert step.else_next == written["branch"][-1]["else"]
            case ir.SplitStep():
                assert [(p.name, p.weight, p.next) for p in step.paths] == [
                    (p["name"], p["weight"], p["next"]) for p in written["split"]["paths"]
                ]
                assert step.holdout_weight == written["split"].get("holdout", 0)
            case ir.SendStep():
                send = written["send"]
                assert step.channel == send["channel"]
                assert step.body == (TEMPLATE_FILES[send["template"]] if "template" in send else send.get("body"))
            case ir.ExitStep():
                assert "exit" in written
            case _:
                pass
    if "schedule" in doc["trigger"] and "at" in doc["trigger"]["schedule"]:
        assert isinstance(journey.trigger, ir.ScheduleTrigger)
        assert journey.trigger.at is not None and journey.trigger.at.endswith("Z")


@examples(50)
@given(case=journey_texts())
def test_generated_valid_journeys_compile_to_the_graph_they_describe(journey_dir, case):
    text, generated = case
    note(text)
    result = compile_in(journey_dir, text)
    assert_well_formed(result)
    assert not error_rules(result), format_diagnostics(list(result.diagnostics), "text")
    assert {d.rule for d in result.diagnostics} <= EXPECTED_WARNINGS
    assert result.journey is not None
    assert_matches_document(result.journey, generated)
    assert_graph_invariants(result.journey)


@examples(30)
@given(case=journey_texts())
def test_generated_journey_ir_round_trips_and_its_version_is_a_stable_content_hash(journey_dir, case):
    text, generated = case
    journey = compile_in(journey_dir, text).journey
    assert journey is not None
    assert ir.Journey.from_dict(journey.to_dict()) == journey
    assert ir.Journey.from_dict(json.loads(journey.to_json())) == journey
    assert ir.Journey.from_dict(json.loads(journey.to_json(indent=2))) == journey
    # Same content: same version, whatever the file is called or how the YAML is laid out.
    assert compile_in(journey_dir, text).journey == journey
    assert compile_in(journey_dir, render(generated.doc), file="elsewhere.yml").journey.version == journey.version
    changed = compile_in(journey_dir, render(change_content(generated.doc))).journey
    assert changed is not None
    assert changed.version != journey.version


@examples(25)
@given(case=journey_texts())
def test_generated_journeys_draw_every_step_in_mermaid_and_dot(journey_dir, case):
    text, _ = case
    journey = compile_in(journey_dir, text).journey
    assert journey is not None
    mermaid = to_mermaid(journey)
    dot = to_dot(journey)
    assert mermaid.startswith("flowchart TD\n")
    assert dot.startswith("digraph ")
    for step in journey.steps:
        assert f"  n_{step.id}" in mermaid
        assert f'  "{step.id}" [' in dot


# --- the two schema validators -------------------------------------------------------------

RUST_VALIDATOR = jsonschema_rs.Draft202012Validator(journey_schema())
PYTHON_VALIDATOR = jsonschema.Draft202012Validator(journey_schema())


def assert_validators_agree(text: str) -> None:
    try:
        document, _ = load_yaml(text)
    except YamlSyntaxError:
        return
    assert RUST_VALIDATOR.is_valid(document) == PYTHON_VALIDATOR.is_valid(document), document


@examples(60)
@given(text=st.one_of(journey_texts().map(lambda case: case[0]), mutated_journeys().map(lambda m: m.text), corrupted_journeys()))
def test_jsonschema_rs_fast_path_and_python_jsonschema_agree_on_validity(text):
    """The compiler trusts jsonschema-rs for "valid" and python-jsonschema for the errors; they must agree."""
    assert_validators_agree(text)


# --- mutations ------------------------------------------------------------------------------


@examples(150)
@given(mutation=mutated_journeys())
def test_one_mutation_never_crashes_the_compiler_and_known_breakages_report_located_errors(journey_dir, mutation: Mutation):
    note(f"{mutation.name}:\n{mutation.text}")
    event(mutation.name)
    result = check_never_crashes(journey_dir, mutation.text)
    if mutation.must_fail:
        assert result.journey is None
        assert error_rules(result)
        if mutation.rules:
            assert mutation.rules & error_rules(result), (mutation.rules, error_rules(result))


@examples(60)
@given(mutation=text_mutated_journeys())
def test_an_edit_of_the_yaml_text_never_crashes_the_compiler(journey_dir, mutation: Mutation):
    """Truncation, stray tabs, garbage, brackets, lost or repeated lines: valid or not, never an exception."""
    note(f"{mutation.name}:\n{mutation.text}")
    event(mutation.name)
    check_never_crashes(journey_dir, mutation.text)


@examples(60)
@given(text=corrupted_journeys())
def test_a_valid_journey_with_any_value_replaced_never_crashes_the_compiler(journey_dir, text):
    note(text)
    check_never_crashes(journey_dir, text)


# --- fuzz -----------------------------------------------------------------------------------

YAML_ALPHABET = st.sampled_from([*":- \n\t[]{}'\"#&*!|>%@`,?~.0129aeiz_\\", "id", "steps", "next", "{{", "}}", "  - "])
yaml_soup = st.lists(YAML_ALPHABET, max_size=60).map("".join)


@examples(200)
@given(text=st.one_of(st.text(), yaml_soup))
def test_arbitrary_text_never_crashes_the_compiler(journey_dir, text):
    check_never_crashes(journey_dir, text)


@examples(80)
@given(value=st.one_of(json_values(), journey_shaped_values()), as_json=st.booleans())
def test_arbitrary_yaml_values_never_crash_the_compiler(journey_dir, value: Any, as_json: bool):
    text = dump_json(value) if as_json else dump_any(value)
    note(text)
    check_never_crashes(journey_dir, text)


# --- crashes found by exploring (all fixed): each must stay a located error ---------------------------

SMS = """\
id: j
name: J
trigger: {event: signed_up}
steps:
  - id: s
    send: {channel: sms, body: "hi"}
"""


def _schedule(schedule: str) -> str:
    return SMS.replace("trigger: {event: signed_up}", f'trigger: {{schedule: {schedule}}}\nentry: {{audience: "true"}}')


def _crash(text: str, raises: type[BaseException], reason: str, id: str) -> Any:
    return pytest.param(
        text,
        id=id,
    )


CRASHES = [
    _crash(
        SMS.replace("channel: sms", "channel: []"),
        TypeError,
        "_check_send tests `channel not in CHANNEL_FIELDS` on a list or mapping value: unhashable type",
        "send-channel-that-is-a-list",
    ),
    _crash(
        SMS.replace("channel: sms", "channel: {sms: true}"),
        TypeError,
        "_check_send tests `channel not in CHANNEL_FIELDS` on a list or mapping value: unhashable type",
        "send-channel-that-is-a-mapping",
    ),
    _crash(
        SMS.replace("id: j\n", "id: j\nsettings: {timezone: America}\n"),
        IsADirectoryError,
        "is_timezone() catches ZoneInfoNotFoundError and ValueError, but ZoneInfo('America') raises IsADirectoryError",
        "timezone-naming-a-tzdata-folder",
    ),
    _crash(
        _schedule("{cron: '0 9 * * *', timezone: Europe}"),
        IsADirectoryError,
        "is_timezone() lets IsADirectoryError escape for a schedule timezone too",
        "schedule-timezone-naming-a-tzdata-folder",
    ),
    _crash(
        SMS.replace("id: j\n", "id: j\nsettings: {timezone: " + "A" * 300 + "}\n"),
        OSError,
        "is_timezone() lets OSError (file name too long) escape for a long zone name",
        "timezone-longer-than-a-file-name",
    ),
    _crash(
        _schedule('{at: "0001-01-01T00:00:00", timezone: Asia/Tokyo}'),
        OverflowError,
        "lower._trigger converts `at` to UTC without guarding datetime overflow",
        "schedule-at-before-year-1-in-utc",
    ),
    _crash(
        _schedule('{at: "9999-12-31T23:59:59-01:00"}'),
        OverflowError,
        "lower._trigger converts `at` to UTC without guarding datetime overflow",
        "schedule-at-after-year-9999-in-utc",
    ),
    _crash(
        SMS.replace('body: "hi"', 'template: "templates/a\\0b.html"'),
        ValueError,
        "_load_template resolves a path with a NUL byte (a YAML \\0 escape): ValueError embedded null byte",
        "template-path-with-nul-byte",
    ),
    _crash(
        SMS.replace("{event: signed_up}", '{event: signed_up, where: "' + "(" * 70 + "true" + ")" * 70 + '"}'),
        RecursionError,
        "Jinja's recursive-descent parser overflows the stack; check_expression only catches TemplateSyntaxError",
        "expression-nested-70-parentheses-deep",
    ),
    _crash(
        SMS.replace('body: "hi"', 'body: "' + "{% if true %}" * 300 + "{% endif %}" * 300 + '"'),
        RecursionError,
        "Jinja's parser overflows the stack; check_template only catches TemplateSyntaxError",
        "template-with-300-nested-ifs",
    ),
]


@pytest.mark.parametrize("text", CRASHES)
def test_compile_text_reports_an_error_instead_of_raising(tmp_path, text):
    result = compile_in(tmp_path, text)
    assert_well_formed(result)
    assert result.journey is None


@pytest.mark.parametrize("where", ["id: j", "id: s"], ids=["journey-id", "step-id"])
def test_ids_with_a_trailing_newline_are_rejected(tmp_path, where):
    result = compile_in(tmp_path, SMS.replace(where, where.replace(": ", ': "') + '\\n"'))
    assert "invalid-id" in error_rules(result)


@pytest.mark.parametrize(
    "text",
    [
        SMS.replace("id: j", 'id: "j\\n"'),
        SMS.replace('send: {channel: sms, body: "hi"}', "split: {paths: [{name: a, weight: 1e400, next: end}]}"),
    ],
    ids=["id-with-trailing-newline", "weight-1e400"],
)
def test_jsonschema_rs_and_python_jsonschema_agree_on_known_edge_cases(text):
    assert_validators_agree(text)
