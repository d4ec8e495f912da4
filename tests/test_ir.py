"""The compiled journey (IR): frozen values, JSON round trip, content versions, and how constructs are lowered."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import pytest

from orchestrator import ir
from orchestrator.compiler import compile_file, compile_paths, compile_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "journeys"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.glob("*.y*ml") if p.is_file())

ALL_KINDS = """\
# every step kind and most optional fields
id: all_kinds
name: "All kinds"
description: Every step kind at least once
tags: [test, coverage]
trigger:
  event: signed_up
  where: "event.plan != 'enterprise'"
entry:
  audience: "customer.country in ['US', 'CA']"
  re_entry: {after: 30d}
goal: {event: order_completed, where: "event.total > 10", within: 14d, value: "event.total"}
exit_on: [unsubscribed, {event: account_deleted, where: "event.hard"}]
metrics:
  - {id: nps, kind: nps, event: survey_answered, value: "event.score", where: "event.survey == 'nps'"}
  - {id: basket, kind: mean, event: order_completed, value: "event.total"}
settings:
  timezone: Europe/Paris
  quiet_hours: {from: "21:00", to: "8:00"}
  frequency_cap: {max: 3, per: P1W}
steps:
  - id: welcome
    send:
      channel: email
      category: transactional
      subject: "Hi {{ customer.first_name | default('there') }}"
      preheader: Welcome aboard
      template: templates/welcome.html
  - id: pause
    wait: 1h30m
  - id: morning
    wait: {until: "9:00", days: [fri, mon]}
  - id: birthday
    wait: {until_date: customer.birthday, offset: -1d, at: "10:00", repeat: yearly}
  - id: opened
    wait_for: {event: email_opened, where: "event.campaign == 'welcome'", within: 2d, timeout_next: nudge}
    next: test
  - id: nudge
    send: {channel: sms, body: "Open your welcome email, {{ customer.first_name }}"}
  - id: test
    split:
      paths:
        - {name: a, weight: 45, next: vip}
        - {name: b, weight: 45, next: push}
      holdout: 10
  - id: vip
    branch:
      - when: customer.vip
        next: tag
      - else: hook
  - id: push
    send: {channel: push, title: "Still there?", url: "app://home"}
    next: hook
  - id: tag
    update:
      set: {segment: vip, score: 1.5, tags: [a, b], nothing: null}
      compute: {visits: "customer.visits | default(0) + 1"}
      unset: [trial]
  - id: hook
    webhook:
      url: "https://crm.example.com/contacts/{{ customer.id }}"
      method: PUT
      headers: {Authorization: "Bearer {{ secrets.CRM_TOKEN }}"}
      body: {email: "{{ customer.email }}", tags: [vip, "{{ journey.id }}"], count: 2}
      timeout: 30s
  - id: done
    exit: {reason: finished}
"""
WELCOME_HTML = "<p>Hello {{ customer.first_name | default('there') }}</p>\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def compiled(directory: Path, text: str, name: str = "journey.yaml") -> ir.Journey:
    """Compile `text` saved as `name` in `directory` (which also holds templates/welcome.html)."""
    if not (directory / "templates" / "welcome.html").exists():
        write(directory, "templates/welcome.html", WELCOME_HTML)
    result = compile_file(write(directory, name, text))
    assert result.journey is not None, [d.text() for d in result.diagnostics]
    return result.journey


def minimal(steps: str, head: str = "trigger: {event: signed_up}") -> str:
    return f"id: j\nname: J\n{head}\nsteps:\n{steps}"


@pytest.fixture
def all_kinds(tmp_path: Path) -> ir.Journey:
    return compiled(tmp_path, ALL_KINDS)


# --- frozen values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [((), "name"), ((), "version"), ((), "steps"), (("trigger",), "event"), (("settings",), "timezone"), (("goal",), "within_seconds")],
)
def test_ir_values_are_frozen(all_kinds, path, field):
    value: Any = all_kinds
    for part in path:
        value = getattr(value, part)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, "changed")


def test_every_ir_step_is_frozen_and_collections_are_tuples(all_kinds):
    for step in all_kinds.steps:
        with pytest.raises(dataclasses.FrozenInstanceError):
            step.id = "changed"  # type: ignore[misc]
    assert isinstance(all_kinds.steps, tuple)
    assert isinstance(all_kinds.events, tuple)
    assert isinstance(all_kinds.tags, tuple)
    assert isinstance(all_kinds.exit_on, tuple)
    assert isinstance(all_kinds.step("vip").cases, tuple)  # type: ignore[union-attr]
    assert isinstance(all_kinds.step("test").paths, tuple)  # type: ignore[union-attr]
    assert isinstance(all_kinds.step("morning").days, tuple)  # type: ignore[union-attr]


# --- JSON round trip ---------------------------------------------------------------------


def assert_round_trips(journey: ir.Journey) -> None:
    assert ir.Journey.from_dict(journey.to_dict()) == journey
    assert ir.Journey.from_dict(json.loads(journey.to_json())) == journey
    assert ir.Journey.from_dict(json.loads(journey.to_json(indent=2))) == journey
    assert journey.to_json() == json.dumps(json.loads(journey.to_json()), sort_keys=True), "compact JSON is canonical"


def test_a_journey_with_every_step_kind_round_trips_through_dict_and_json(all_kinds):
    kinds = {type(step) for step in all_kinds.steps}
    assert kinds == {
        ir.SendStep,
        ir.WaitStep,
        ir.WaitUntilStep,
        ir.WaitUntilDateStep,
        ir.WaitForStep,
        ir.SplitStep,
        ir.BranchStep,
        ir.UpdateStep,
        ir.WebhookStep,
        ir.ExitStep,
    }
    assert_round_trips(all_kinds)
    assert all(step["kind"] for step in all_kinds.to_dict()["steps"])


@pytest.mark.parametrize("cls", typing.get_args(ir.Step), ids=lambda cls: cls.__name__)
def test_every_step_class_states_its_facts_outside_the_json_form(cls):
    assert {"rests", "passes_in_one_go"} <= set(vars(cls)), "state ir.StepFacts on the class itself"
    assert not (cls.rests and cls.passes_in_one_go), "a step that rests does not pass in one go"
    names = {f.name for f in dataclasses.fields(cls)}
    assert not names & {"rests", "passes_in_one_go"}, "facts are class attributes, not fields of the persisted form"
    if cls.passes_in_one_go:
        assert "next" in names, "the start call follows `next` past a step that passes in one go"


@pytest.mark.parametrize(
    "head",
    [
        'trigger: {segment: "customer.vip"}',
        'trigger: {schedule: {cron: "0 9 * * MON", timezone: Europe/Paris}}\nentry: {audience: "true"}',
        'trigger: {schedule: {at: "2026-12-01T10:00:00"}}\nentry: {audience: "true"}',
    ],
    ids=["segment", "cron", "at"],
)
def test_every_trigger_kind_round_trips_through_json(tmp_path, head):
    journey = compiled(tmp_path, minimal("  - id: bye\n    exit: true\n", head))
    assert_round_trips(journey)


@pytest.fixture(scope="module")
def examples() -> dict[str, ir.Journey]:
    """The shipped journeys, compiled as one project."""
    project = compile_paths([EXAMPLES])
    errors = [d.text() for d in project.diagnostics if d.severity == "error"]
    assert not errors, errors
    return {Path(r.file).name: r.journey for r in project.results if r.journey is not None}


@pytest.mark.skipif(not EXAMPLE_FILES, reason="journeys/ has no examples; the inline all-kinds journey covers the round trip")
@pytest.mark.parametrize("name", [p.name for p in EXAMPLE_FILES])
def test_shipped_example_journeys_compile_and_round_trip_through_json(examples, name):
    journey = examples[name]
    assert_round_trips(journey)
    assert Path(name).stem == journey.id


# --- versions -----------------------------------------------------------------------------


def version_of(directory: Path, text: str, name: str = "journey.yaml") -> str:
    return compiled(directory, text, name).version


def test_version_is_a_hash_of_the_content_without_the_version(all_kinds):
    content = all_kinds.to_dict()
    del content["version"]
    assert all_kinds.version == ir.content_version(content)
    assert len(all_kinds.version) == 16
    int(all_kinds.version, 16)


PINNED = """\
id: pinned
name: Pinned
trigger: {event: signed_up}
goal: {event: order_completed, within: 3d}
steps:
  - id: hello
    send: {channel: email, subject: Hi, body: Hello}
"""


def test_a_journey_that_measures_nothing_keeps_the_version_it_had_before_the_language_could(tmp_path):
    # Compiled before `metrics` and the goal's `value` existed (issue 22): redeploying the unchanged file starts no new version.
    assert version_of(tmp_path, PINNED) == "cf95a2697991c899"
    measured = PINNED.replace("within: 3d}", "within: 3d, value: event.revenue}")
    assert version_of(tmp_path / "valued", measured) != "cf95a2697991c899"


def test_same_content_in_two_different_files_has_the_same_version(tmp_path):
    first = version_of(tmp_path / "one", ALL_KINDS, "all_kinds.yaml")
    second = version_of(tmp_path / "two" / "nested", ALL_KINDS, "other_name.yml")
    assert first == second


def test_compiling_text_and_compiling_the_file_give_the_same_version(tmp_path, all_kinds):
    result = compile_text(ALL_KINDS, file="anything.yaml", directory=tmp_path)
    assert result.journey is not None
    assert result.journey.version == all_kinds.version


REFORMATTED = (
    ALL_KINDS.replace("# every step kind and most optional fields\n", "# a different comment\n\n\n")
    .replace('name: "All kinds"', "name: All kinds   # trailing comment")
    .replace("tags: [test, coverage]", "tags:\n  - test\n  - coverage")
    .replace('goal: {event: order_completed, where: "event.total > 10", within: 14d}',
             "goal:\n  event: order_completed\n  where: 'event.total > 10'\n  within: 14d")
    .replace("  - id: pause\n    wait: 1h30m\n", "\n  # a pause\n  - id:   pause\n    wait: \"1h30m\"\n\n")
)  # fmt: skip


def test_whitespace_comment_and_quoting_changes_keep_the_version(tmp_path):
    assert REFORMATTED != ALL_KINDS
    assert version_of(tmp_path / "a", REFORMATTED) == version_of(tmp_path / "b", ALL_KINDS)


def test_reordering_top_level_keys_keeps_the_version(tmp_path):
    head, steps = ALL_KINDS.split("steps:\n")
    lines = head.splitlines(keepends=True)
    settings_at = next(n for n, line in enumerate(lines) if line.startswith("settings:"))
    reordered = "steps:\n" + steps + "".join(lines[settings_at:]) + "".join(lines[:settings_at])
    assert version_of(tmp_path / "a", reordered) == version_of(tmp_path / "b", ALL_KINDS)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('subject: "Hi {{', 'subject: "Hello {{'),
        ("wait: 1h30m", "wait: 1h31m"),
        ("weight: 45, next: vip", "weight: 46, next: vip"),
        ('name: "All kinds"', 'name: "All the kinds"'),
        ("- when: customer.vip", "- when: customer.vip and customer.active"),
        ('value: "event.score"', 'value: "event.score * 1"'),
        ("kind: nps, event: survey_answered", "kind: csat, event: survey_answered"),
        ('value: "event.total"}\nexit_on', 'value: "event.total * 2"}\nexit_on'),
    ],
    ids=["subject", "wait", "weight", "name", "branch-condition", "metric-value", "metric-kind", "goal-value"],
)
def test_a_content_change_changes_the_version(tmp_path, old, new):
    assert old in ALL_KINDS
    assert version_of(tmp_path / "a", ALL_KINDS.replace(old, new)) != version_of(tmp_path / "b", ALL_KINDS)


def test_equivalent_durations_give_the_same_version(tmp_path):
    iso = ALL_KINDS.replace("wait: 1h30m", "wait: PT1H30M").replace("per: P1W", "per: 7d")
    assert version_of(tmp_path / "a", iso) == version_of(tmp_path / "b", ALL_KINDS)


def test_changing_a_template_file_changes_the_version(tmp_path, all_kinds):
    write(tmp_path, "templates/welcome.html", WELCOME_HTML.replace("Hello", "Welcome"))
    changed = compiled(tmp_path, ALL_KINDS)
    assert changed.version != all_kinds.version
    assert changed.step("welcome").body == WELCOME_HTML.replace("Hello", "Welcome")  # type: ignore[union-attr]


# --- lowering -----------------------------------------------------------------------------


def test_template_file_contents_are_inlined_into_the_send_body(all_kinds):
    welcome = all_kinds.step("welcome")
    assert isinstance(welcome, ir.SendStep)
    assert welcome.body == WELCOME_HTML
    assert welcome.template_path == "templates/welcome.html"
    assert json.loads(all_kinds.to_json())["steps"][0]["body"] == WELCOME_HTML


def test_events_lists_trigger_wait_for_goal_and_exit_on_events_sorted_and_once(tmp_path, all_kinds):
    assert all_kinds.events == ("account_deleted", "email_opened", "order_completed", "signed_up", "unsubscribed")
    segment = compiled(
        tmp_path,
        minimal(
            "  - id: opened\n    wait_for: {event: email_opened, within: 1d}\n",
            'trigger: {segment: "customer.vip"}\ngoal: {event: email_opened}\nexit_on: [unsubscribed, unsubscribed]',
        ),
    )
    assert segment.events == ("email_opened", "unsubscribed")


def test_metric_events_are_measured_not_listened_to(all_kinds):
    """A running enrollment is never signalled an event only a metric reads: routing records the answer at ingest."""
    assert "survey_answered" not in all_kinds.events


def test_metrics_and_the_goal_value_are_lowered_field_by_field(all_kinds):
    assert all_kinds.goal == ir.Goal("order_completed", "event.total > 10", 14 * 86400, 14 * 86400, "event.total")
    assert all_kinds.metrics == (
        ir.Metric("nps", "nps", "survey_answered", "event.score", "event.survey == 'nps'"),
        ir.Metric("basket", "mean", "order_completed", "event.total"),
    )


def test_a_journey_compiled_before_metrics_and_goal_values_loads_without_them(all_kinds):
    old = all_kinds.to_dict()
    del old["metrics"]
    del old["goal"]["value"]
    del old["goal"]["measure_seconds"]
    loaded = ir.Journey.from_dict(old)
    assert loaded.metrics == ()
    assert loaded.goal is not None and loaded.goal.value is None
    assert loaded.goal.window_seconds == 14 * 86400  # `within`, as the workflow of the time measured
    no_within = dict(old, goal={"event": "order_completed", "where": None, "within_seconds": None})
    assert ir.Journey.from_dict(no_within).goal.window_seconds == 7 * 86400  # type: ignore[union-attr]


def test_the_metric_kinds_of_the_ir_are_those_the_schema_accepts():
    schema = json.loads((ROOT / "schemas" / "journey.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["metric"]["properties"]["kind"]["enum"]) == ir.METRIC_KINDS


def test_a_step_without_next_falls_through_to_the_following_step_and_the_last_one_to_end(tmp_path):
    journey = compiled(
        tmp_path,
        minimal(
            "  - id: first\n    send: {channel: sms, body: hi}\n"
            "  - id: second\n    wait: 1h\n"
            "  - id: third\n    update: {unset: [trial]}\n    next: fifth\n"
            "  - id: fourth\n    webhook: {url: 'https://example.com'}\n"
            "  - id: fifth\n    wait_for: {event: clicked, within: 1d}\n"
            "  - id: sixth\n    branch: [{else: fourth}]\n"
        ),
    )
    nexts = {s.id: getattr(s, "next", None) for s in journey.steps}
    assert nexts == {"first": "second", "second": "third", "third": "fifth", "fourth": "fifth", "fifth": "sixth", "sixth": None}
    assert journey.start == "first"
    last = compiled(tmp_path / "last", minimal("  - id: only\n    send: {channel: sms, body: hi}\n"))
    assert last.step("only").next == ir.END  # type: ignore[union-attr]


def test_wait_for_without_timeout_next_times_out_to_its_next(tmp_path):
    journey = compiled(
        tmp_path,
        minimal(
            "  - id: implicit\n    wait_for: {event: a, within: PT2H}\n"
            "  - id: explicit\n    wait_for: {event: b, within: 1d}\n    next: last\n"
            "  - id: forever\n    wait_for: {event: c}\n"
            "  - id: last\n    wait_for: {event: d, within: 1d, timeout_next: forever}\n"
        ),
    )
    implicit, explicit, forever, last = journey.steps
    assert isinstance(implicit, ir.WaitForStep) and (implicit.next, implicit.timeout_next) == ("explicit", "explicit")
    assert implicit.within_seconds == 7200
    assert isinstance(explicit, ir.WaitForStep) and (explicit.next, explicit.timeout_next) == ("last", "last")
    assert isinstance(forever, ir.WaitForStep) and (forever.next, forever.within_seconds, forever.timeout_next) == ("last", None, None)
    assert isinstance(last, ir.WaitForStep) and (last.next, last.timeout_next) == ("end", "forever")


@pytest.mark.parametrize(
    ("at", "zone", "expected"),
    [
        ("2026-12-15T10:00:00", "America/New_York", "2026-12-15T15:00:00Z"),
        ("2026-07-01T10:00:00", "America/New_York", "2026-07-01T14:00:00Z"),
        ("2026-12-01T10:00:00", "Asia/Kolkata", "2026-12-01T04:30:00Z"),
        ("2026-12-01T10:00:00", None, "2026-12-01T10:00:00Z"),
        ("2026-12-01T09:00:00Z", None, "2026-12-01T09:00:00Z"),
        ("2026-12-01T10:00:00+01:00", "Asia/Tokyo", "2026-12-01T09:00:00Z"),
        ("2026-12-31T23:30:00-01:00", None, "2027-01-01T00:30:00Z"),
    ],
    ids=["winter-new-york", "summer-new-york", "half-hour-zone", "naive-utc", "z", "explicit-offset-wins", "next-year"],
)
def test_schedule_at_is_normalised_to_utc_with_a_z_suffix(tmp_path, at, zone, expected):
    schedule = f'{{at: "{at}"' + (f", timezone: {zone}}}" if zone else "}")
    journey = compiled(
        tmp_path, minimal("  - id: bye\n    exit: true\n", f'trigger: {{schedule: {schedule}}}\nentry: {{audience: "true"}}')
    )
    assert isinstance(journey.trigger, ir.ScheduleTrigger)
    assert journey.trigger.at == expected
    assert journey.trigger.cron is None
    assert journey.trigger.timezone == (zone or "UTC")


def test_durations_are_seconds_and_times_of_day_are_zero_padded(all_kinds):
    assert all_kinds.step("pause").seconds == 5400  # type: ignore[union-attr]
    assert all_kinds.goal == ir.Goal("order_completed", "event.total > 10", 14 * 86400, measure_seconds=14 * 86400, value="event.total")
    assert all_kinds.entry == ir.Entry("customer.country in ['US', 'CA']", "after", 30 * 86400)
    assert all_kinds.settings == ir.Settings("Europe/Paris", ir.QuietHours("21:00", "08:00"), ir.FrequencyCap(3, 7 * 86400))
    morning = all_kinds.step("morning")
    assert morning == ir.WaitUntilStep("morning", "09:00", "birthday", ("mon", "fri"))
    birthday = all_kinds.step("birthday")
    assert birthday == ir.WaitUntilDateStep("birthday", "customer.birthday", "opened", -86400, "10:00", "yearly")
    assert all_kinds.step("hook").timeout_seconds == 30  # type: ignore[union-attr]


def test_split_branch_update_webhook_and_exit_are_lowered_field_by_field(all_kinds):
    assert all_kinds.step("test") == ir.SplitStep("test", (ir.SplitPath("a", 45, "vip"), ir.SplitPath("b", 45, "push")), 10)
    assert all_kinds.step("vip") == ir.BranchStep("vip", (ir.BranchCase("customer.vip", "tag"),), "hook")
    assert all_kinds.step("tag") == ir.UpdateStep(
        "tag",
        "hook",
        set={"segment": "vip", "score": 1.5, "tags": ["a", "b"], "nothing": None},
        compute={"visits": "customer.visits | default(0) + 1"},
        unset=("trial",),
    )
    hook = all_kinds.step("hook")
    assert isinstance(hook, ir.WebhookStep)
    assert (hook.method, hook.next, hook.headers) == ("PUT", "done", {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"})
    assert hook.body == {"email": "{{ customer.email }}", "tags": ["vip", "{{ journey.id }}"], "count": 2}
    assert all_kinds.step("done") == ir.ExitStep("done", "finished")
    push = all_kinds.step("push")
    assert push == ir.SendStep("push", "push", "hook", title="Still there?", url="app://home")


def test_defaults_fill_in_what_the_journey_leaves_out(tmp_path):
    journey = compiled(tmp_path, minimal("  - id: hook\n    webhook: {url: 'https://example.com'}\n  - id: bye\n    exit: true\n"))
    assert journey.entry == ir.Entry(None, "never", None)
    assert journey.settings == ir.Settings("UTC", None, None)
    assert (journey.goal, journey.exit_on, journey.tags, journey.description) == (None, (), (), "")
    assert journey.step("hook") == ir.WebhookStep("hook", "https://example.com", "bye", "POST", None, None, 10)
    assert journey.step("bye") == ir.ExitStep("bye", None)
    assert journey.format == ir.IR_FORMAT


def test_step_descriptions_are_documentation_and_do_not_change_the_version(tmp_path):
    described = ALL_KINDS.replace("  - id: pause\n", "  - id: pause\n    description: Give them time to read\n")
    assert version_of(tmp_path / "a", described) == version_of(tmp_path / "b", ALL_KINDS)


# --- bugs ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@pytest.mark.parametrize(
    "steps",
    [
        "  - id: test\n    split: {paths: [{name: a, weight: 1e400, next: end}]}\n",
        "  - id: tag\n    update: {set: {score: !!float nan}}\n",
    ],
    ids=["infinite-weight", "nan-in-update-set"],
)
def test_the_ir_of_an_accepted_journey_is_strict_json(tmp_path, steps):
    result = compile_text(minimal(steps), file="j.yaml", directory=tmp_path)
    if result.journey is not None:
        json.loads(result.journey.to_json(), parse_constant=_reject_constant)
        assert ir.Journey.from_dict(json.loads(result.journey.to_json())) == result.journey
