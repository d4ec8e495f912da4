"""Hypothesis strategies for journeys: valid journeys, one-mutation variants, and fuzz input.

`generated_journeys()` draws a journey document that the compiler must accept,
together with what the compiled IR must contain (resolved `next` targets,
durations in seconds, listened events), and renders it as YAML text in one of
several layouts. The graph is built so that it is valid by construction:

* every step after the first gets a "parent" among the earlier steps that
  links to it, so every step is reachable from the first;
* steps that are not waits only link forward (to a later step or `end`), and
  only waits may link backward, so every loop passes a wait.

`mutated_journeys()` applies one mutation to such a journey. Mutations of the
document are known to make it invalid (`must_fail=True`, optionally with the
rules the compiler should report); text-level mutations (truncation, stray
tabs, garbage) may or may not, so only consistency is checked for them.
"""

from __future__ import annotations

import copy
import json
import string
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from orchestrator.language import traits

# --- vocabulary -----------------------------------------------------------------

TEMPLATE_FILES = {
    "templates/welcome.html": "<p>Hi {{ customer.first_name | default('there') }},</p>\n<p>Welcome aboard.</p>\n",
    "templates/receipt.txt": "Order {{ customer.last_order_id | default('?') }} is on its way.\n",
    "templates/plain.html": "<p>No variables at all.</p>\n",
}


def write_templates(directory: Path) -> None:
    """Create the template files that generated journeys refer to, below `directory`."""
    for relative, content in TEMPLATE_FILES.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


# Free text: words that YAML must quote or escape, but none that Jinja reads as
# syntax ({ } start blocks) and none that a YAML 1.1 emitter would leave plain
# while the YAML 1.2 loader reads it as a number (1e5, 0o17): every value starts with a word.
WORDS = (
    "hello",
    "welcome",
    "Sale",
    "50%",
    "off",
    "#1",
    "Tom's",
    'say "hi"',
    "a: b",
    "- dash",
    "café",
    "🎁",
    "<b>bold</b>",
    "&amp;",
    "x|y",
    "end",
    "null",
    "true",
    "yes",
    "10:00",
    "[brackets]",
    "back\\slash",
    "tab\there",
    "line\nbreak",
)
TEMPLATE_PIECES = (
    "{{ customer.first_name | default('friend') }}",
    "{{ customer.plan | upper }}",
    "{% if customer.vip %}VIP{% else %}member{% endif %}",
    "{{ journey.id }}",
    "{{ customer.credits | default(0) + 5 }}",
    "{% for item in customer.items | default([]) %}{{ item }} {% endfor %}",
)
EVENT_TEMPLATE_PIECES = ("{{ event.cart_url | default('') }}", "{{ event.amount }}")
EXPRESSIONS = (
    "customer.country in ['US', 'CA']",
    "customer.age | default(0) >= 18",
    "customer.vip",
    "not customer.unsubscribed",
    "customer.plan == 'pro' and customer.seats > 5",
    "true",
    "customer.tags | default([]) | length > 2",
    '(customer.score or 0) * 2 > 10 or customer.name == "Zoé"',
)
EVENT_EXPRESSIONS = ("event.cart_value >= 20", "event.plan | default('pro') != 'enterprise'", "event.source == 'web'")
DATE_EXPRESSIONS = ("customer.birthday", "customer.renewal_date", "customer.trial_ends_at | default('2030-01-01')")
TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "America/St_Johns", "Etc/GMT+5")
CRONS = ("0 9 * * MON", "*/15 * * * *", "0 0 1 * *", "30 8 * * 1-5", "0 12 * * *")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Step ids that are keywords in Mermaid or Graphviz, or look like the diagram's own nodes.
TRICKY_IDS = (
    "graph",
    "subgraph",
    "style",
    "class",
    "classdef",
    "click",
    "default",
    "linkstyle",
    "end_step",
    "endx",
    "o",
    "x",
    "flowchart",
    "td",
    "n_end",
    "trigger",
    "goal",
    "exit_on",
    "node",
    "edge",
    "digraph",
    "strict",
)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
WAIT_KINDS = frozenset({"wait", "wait_until", "wait_until_date", "wait_for"})
SINGLE_NEXT_KINDS = frozenset({"send", "wait", "wait_until", "wait_until_date", "update", "webhook"})
KINDS = ("send", "wait", "wait_until", "wait_until_date", "wait_for", "branch", "split", "update", "webhook", "exit")
STEP_KEYS = ("send", "wait", "wait_for", "branch", "split", "update", "webhook", "exit")

# Every key the schema defines anywhere; a typo must not land on one of them.
SCHEMA_KEYS = frozenset(
    {
        "$schema", "id", "name", "description", "tags", "trigger", "entry", "goal", "exit_on", "settings", "steps",
        "event", "where", "segment", "schedule", "cron", "at", "timezone", "audience", "re_entry", "after", "within",
        "quiet_hours", "from", "to", "frequency_cap", "max", "per", "next", *STEP_KEYS, "channel", "category",
        "subject", "preheader", "title", "body", "template", "url", "until", "days", "until_date", "offset", "repeat",
        "timeout_next", "when", "else", "paths", "weight", "holdout", "set", "compute", "unset", "method", "headers",
        "timeout", "reason",
    }
)  # fmt: skip


@cache
def text_values(*, extra: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Free text that starts with a plain word, optionally mixed with template pieces."""
    first = st.sampled_from(("Hi", "Hello", "Reminder", "Your", "Big", "Thanks"))
    rest = st.lists(st.sampled_from(WORDS + extra), max_size=5)
    return st.builds(lambda a, b: " ".join([a, *b]), first, rest)


@cache
def identifiers(max_size: int = 12) -> st.SearchStrategy[str]:
    """snake_case ids (never the reserved `end`)."""
    rest = st.text(alphabet=string.ascii_lowercase + string.digits + "_", max_size=max_size)
    return st.builds(str.__add__, st.sampled_from(string.ascii_lowercase), rest).filter(lambda s: s != "end")


@cache
def event_names() -> st.SearchStrategy[str]:
    rest = st.text(alphabet=string.ascii_lowercase + string.digits + "_.", max_size=20)
    return st.one_of(
        st.builds(str.__add__, st.sampled_from(string.ascii_lowercase), rest),
        st.sampled_from(("Order Completed", "checkout:started", "email.opened", "app/launched", "café_visité")),
    )


# --- durations and times --------------------------------------------------------------


_ISO_PARTS = st.dictionaries(st.sampled_from("dhms"), st.integers(1, 59), min_size=1)
_COMPACT_PARTS = st.lists(st.tuples(st.integers(1, 99), st.sampled_from("smhdw")), min_size=1, max_size=3)


@cache
@st.composite
def durations(draw: st.DrawFn) -> tuple[str, int]:
    """A positive duration in compact (1h30m) or ISO 8601 (P1DT2H, P2W) form, with its length in seconds."""
    form = draw(st.sampled_from(("compact", "iso_weeks", "iso")))
    if form == "compact":
        parts = draw(_COMPACT_PARTS)
        return "".join(f"{n}{u}" for n, u in parts), sum(n * UNIT_SECONDS[u] for n, u in parts)
    if form == "iso_weeks":
        weeks = draw(st.integers(1, 10))
        return f"P{weeks}W", weeks * UNIT_SECONDS["w"]
    values = draw(_ISO_PARTS)
    text = "P" + (f"{values['d']}D" if "d" in values else "")
    time_part = "".join(f"{values[u]}{u.upper()}" for u in "hms" if u in values)
    if time_part:
        text += "T" + time_part
    return text, sum(n * UNIT_SECONDS[u] for u, n in values.items())


@cache
def duration_texts() -> st.SearchStrategy[str]:
    return durations().map(lambda d: d[0])


@cache
def times_of_day() -> st.SearchStrategy[str]:
    return st.builds(
        lambda h, m, pad: f"{h:02d}:{m:02d}" if pad else f"{h}:{m:02d}",
        st.integers(0, 23),
        st.integers(0, 59),
        st.booleans(),
    )


# --- journeys ---------------------------------------------------------------------------


@dataclass
class GeneratedJourney:
    """A valid journey document and what its IR must say."""

    doc: dict[str, Any]
    next_of: dict[str, str] = field(default_factory=dict)
    """The resolved `next` of every step that has one (send, waits, update, webhook)."""
    timeout_of: dict[str, str | None] = field(default_factory=dict)
    """The resolved `timeout_next` of every wait_for step."""
    seconds_of: dict[str, int] = field(default_factory=dict)
    """The length of every duration wait, in seconds."""
    events: frozenset[str] = frozenset()

    @property
    def step_ids(self) -> list[str]:
        return [s["id"] for s in self.doc["steps"]]


def _templated_text(draw: st.DrawFn, *, event_trigger: bool) -> str:
    pieces = TEMPLATE_PIECES + (EVENT_TEMPLATE_PIECES if event_trigger else ())
    return draw(text_values(extra=pieces))


def _expression(draw: st.DrawFn, *, event_scope: bool) -> str:
    return draw(st.sampled_from(EXPRESSIONS + (EVENT_EXPRESSIONS if event_scope else ())))


def _send(draw: st.DrawFn, event_trigger: bool) -> dict[str, Any]:
    channel = draw(st.sampled_from(("email", "sms", "push")))
    send: dict[str, Any] = {"channel": channel}
    if draw(st.booleans()):
        send["category"] = draw(st.sampled_from(("marketing", "transactional")))
    use_template = draw(st.booleans())
    if channel == "email":
        send["subject"] = _templated_text(draw, event_trigger=event_trigger)
        if draw(st.booleans()):
            send["preheader"] = _templated_text(draw, event_trigger=event_trigger)
    if channel == "push":
        shape = draw(st.sampled_from(("title", "body", "both")))
        if shape != "body":
            send["title"] = _templated_text(draw, event_trigger=event_trigger)
        if shape == "title":
            use_template = None  # a push with only a title has no body at all
        if draw(st.booleans()):
            send["url"] = draw(st.sampled_from(("https://shop.example.com/?utm=push", "app://cart/{{ customer.id }}")))
    if use_template:
        send["template"] = draw(st.sampled_from(sorted(TEMPLATE_FILES)))
    elif use_template is not None:
        send["body"] = _templated_text(draw, event_trigger=event_trigger)
    return send


def _update(draw: st.DrawFn, event_trigger: bool) -> dict[str, Any]:
    parts = draw(st.lists(st.sampled_from(("set", "compute", "unset")), min_size=1, unique=True))
    strategies = _update_strategies(event_trigger)
    return {part: draw(strategies[part]) for part in ("set", "compute", "unset") if part in parts}


@cache
def _update_strategies(event_trigger: bool) -> dict[str, st.SearchStrategy[Any]]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
        text_values(),
    )
    values = st.one_of(scalars, st.lists(scalars, max_size=3))
    # Plain traits only: reserved ones take checked values and consent or deliverability none at all (test_step_values.py).
    names = identifiers().filter(lambda s: s not in traits.RESERVED_TRAITS and traits.why_journeys_cannot_write(s) is None)
    return {
        "set": st.dictionaries(names, values, min_size=1, max_size=3),
        "compute": st.dictionaries(
            names, st.sampled_from(EXPRESSIONS + (EVENT_EXPRESSIONS if event_trigger else ())), min_size=1, max_size=3
        ),
        "unset": st.lists(names, min_size=1, max_size=3).map(_distinct),
    }


def _webhook(draw: st.DrawFn, event_trigger: bool) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "url": draw(st.sampled_from(("https://crm.example.com/api/contacts", "https://hooks.example.com/{{ customer.id }}/notify")))
    }
    if draw(st.booleans()):
        hook["method"] = draw(st.sampled_from(("GET", "POST", "PUT", "PATCH", "DELETE")))
    if draw(st.booleans()):
        hook["headers"] = draw(_HEADERS)
    body = draw(_webhook_bodies(event_trigger))
    if body is not None:
        hook["body"] = body
    if draw(st.booleans()):
        hook["timeout"] = draw(duration_texts())
    return hook


_HEADERS = st.dictionaries(
    st.sampled_from(("Authorization", "X-Request-Source", "Content-Type")),
    st.sampled_from(("Bearer {{ secrets.CRM_TOKEN }}", "journey-{{ journey.id }}", "application/json")),
    min_size=1,
)


@cache
def _webhook_bodies(event_trigger: bool) -> st.SearchStrategy[Any]:
    values = st.one_of(_templated_text_strategy(event_trigger), st.integers(0, 100), st.booleans())
    return st.one_of(st.none(), st.just("{{ customer.email }}"), st.dictionaries(identifiers(), values, max_size=3))


@cache
def _templated_text_strategy(event_trigger: bool) -> st.SearchStrategy[str]:
    return text_values(extra=TEMPLATE_PIECES + (EVENT_TEMPLATE_PIECES if event_trigger else ()))


def _trigger(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(("event", "segment", "schedule")))
    if kind == "event":
        trigger: dict[str, Any] = {"event": draw(event_names())}
        if draw(st.booleans()):
            trigger["where"] = draw(st.sampled_from(EVENT_EXPRESSIONS))
        return trigger
    if kind == "segment":
        return {"segment": draw(st.sampled_from(EXPRESSIONS))}
    schedule: dict[str, Any] = {}
    if draw(st.booleans()):
        schedule["cron"] = draw(st.sampled_from(CRONS))
    else:
        moment = draw(st.datetimes(min_value=_dt(2020), max_value=_dt(2090)))
        suffix = draw(st.sampled_from(("", "", "Z", "+02:00", "-05:30")))
        schedule["at"] = moment.replace(microsecond=0).isoformat() + suffix
    if draw(st.booleans()):
        schedule["timezone"] = draw(st.sampled_from(TIMEZONES))
    return {"schedule": schedule}


def _dt(year: int) -> datetime:
    return datetime(year, 1, 1)


def _distinct(names: list[str]) -> list[str]:
    """`names` without repeats (a repeat gets its position as a suffix), so no unique-list filter is needed."""
    seen: set[str] = set()
    result = []
    for n, name in enumerate(names):
        if name in seen:
            name = f"{name}_{n}"
        seen.add(name)
        result.append(name)
    return result


@cache
def _id_lists(count: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(st.sampled_from(TRICKY_IDS), identifiers()), min_size=count, max_size=count).map(_distinct)


@cache
def _kind_lists(count: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(KINDS), min_size=count, max_size=count)


@cache
def _name_lists(count: int) -> st.SearchStrategy[list[str]]:
    return st.lists(identifiers(8), min_size=count, max_size=count).map(_distinct)


_WEIGHTS = st.one_of(st.integers(1, 100), st.floats(0.01, 100, allow_nan=False, allow_infinity=False))
_DAYS = st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True)
_EXITS = st.one_of(st.just(True), st.just({}), st.builds(lambda r: {"reason": r}, text_values()))
_TAGS = st.lists(identifiers(8), min_size=1, max_size=4).map(lambda tags: list(dict.fromkeys(tags)))
_RE_ENTRY = st.one_of(st.sampled_from(("never", "always")), st.builds(lambda d: {"after": d}, duration_texts()))
_QUIET_HOURS = st.tuples(times_of_day(), times_of_day()).map(
    lambda pair: pair if _minutes(pair[0]) != _minutes(pair[1]) else (pair[0], "23:59" if _minutes(pair[0]) != 23 * 60 + 59 else "00:00")
)


@st.composite
def generated_journeys(draw: st.DrawFn, min_steps: int = 1, max_steps: int = 30) -> GeneratedJourney:
    """A valid journey: random trigger, entry, goal, exit_on, settings and 1-30 wired steps."""
    count = draw(st.integers(min_steps, max_steps))
    ids = draw(_id_lists(count))
    kinds = draw(_kind_lists(count))

    # 1. A spanning tree: every later step gets an earlier parent that links to it.
    capacity = {"exit": 0, "wait_for": 2, "branch": 10**9, "split": 10**9}
    children: dict[int, list[int]] = {i: [] for i in range(count)}
    for j in range(1, count):
        candidates = [i for i in range(j) if len(children[i]) < capacity.get(kinds[i], 1)]
        if not candidates:
            # Only when the step just before is an exit and every earlier slot is taken.
            kinds[j - 1] = "update"
            candidates = [j - 1]
        children[draw(st.sampled_from(candidates))].append(j)

    trigger = _trigger(draw)
    event_trigger = "event" in trigger
    result = GeneratedJourney(doc={})
    events: set[str] = {trigger["event"]} if event_trigger else set()

    def extra_target(i: int) -> str:
        """Any target step i may use beyond its required ones: forward only, unless it is a wait."""
        pool = ids[:] if kinds[i] in WAIT_KINDS else ids[i + 1 :]
        return draw(st.sampled_from([*pool, "end"]))

    def set_next(step: dict[str, Any], i: int, target: str) -> None:
        """Write `next`, or leave it out when the fall-through already goes there."""
        fall_through = ids[i + 1] if i + 1 < count else "end"
        if target != fall_through or draw(st.booleans()):
            step["next"] = target

    steps: list[dict[str, Any]] = []
    for i, (step_id, kind) in enumerate(zip(ids, kinds, strict=True)):
        step: dict[str, Any] = {"id": step_id}
        if draw(st.integers(0, 9)) == 0:
            step["description"] = draw(text_values())
        required = [ids[c] for c in children[i]]
        if kind in SINGLE_NEXT_KINDS:
            target = required[0] if required else extra_target(i)
            if kind == "send":
                step["send"] = _send(draw, event_trigger)
            elif kind == "wait":
                text, seconds = draw(durations())
                step["wait"] = text
                result.seconds_of[step_id] = seconds
            elif kind == "wait_until":
                wait: dict[str, Any] = {"until": draw(times_of_day())}
                if draw(st.booleans()):
                    wait["days"] = draw(_DAYS)
                step["wait"] = wait
            elif kind == "wait_until_date":
                wait = {"until_date": draw(st.sampled_from(DATE_EXPRESSIONS))}
                if draw(st.booleans()):
                    wait["offset"] = draw(st.sampled_from(("-", "+", ""))) + draw(duration_texts())
                if draw(st.booleans()):
                    wait["at"] = draw(times_of_day())
                if draw(st.booleans()):
                    wait["repeat"] = "yearly"
                step["wait"] = wait
            elif kind == "update":
                step["update"] = _update(draw, event_trigger)
            else:
                step["webhook"] = _webhook(draw, event_trigger)
            set_next(step, i, target)
            result.next_of[step_id] = target
        elif kind == "wait_for":
            event = draw(event_names())
            events.add(event)
            wait_for: dict[str, Any] = {"event": event}
            if draw(st.booleans()):
                wait_for["where"] = _expression(draw, event_scope=True)
            target = required[0] if required else extra_target(i)
            timeout: str | None = None
            if len(required) == 2 or draw(st.booleans()):
                wait_for["within"] = draw(duration_texts())
                if len(required) == 2:
                    timeout = required[1]
                    wait_for["timeout_next"] = timeout
                elif draw(st.booleans()):
                    timeout = extra_target(i)
                    wait_for["timeout_next"] = timeout
                else:
                    timeout = target  # without timeout_next, a timeout goes to `next`
            step["wait_for"] = wait_for
            set_next(step, i, target)
            result.next_of[step_id] = target
            result.timeout_of[step_id] = timeout
        elif kind == "branch":
            targets = required + [extra_target(i) for _ in range(draw(st.integers(0, 3)))]
            targets = draw(st.permutations(targets)) if targets else [extra_target(i)]
            *cases, otherwise = targets
            step["branch"] = [{"when": _expression(draw, event_scope=event_trigger), "next": t} for t in cases] + [{"else": otherwise}]
        elif kind == "split":
            targets = required + [extra_target(i) for _ in range(draw(st.integers(0, 3)))]
            targets = draw(st.permutations(targets)) if targets else [extra_target(i)]
            names = draw(_name_lists(len(targets)))
            weights = _WEIGHTS
            split: dict[str, Any] = {
                "paths": [{"name": n, "weight": draw(weights), "next": t} for n, t in zip(names, targets, strict=True)]
            }
            if draw(st.booleans()):
                split["holdout"] = draw(weights)
            step["split"] = split
        else:
            step["exit"] = draw(_EXITS)
        steps.append(step)

    doc: dict[str, Any] = {"id": draw(identifiers(20)), "name": draw(text_values())}
    if draw(st.booleans()):
        doc["description"] = draw(text_values())
    if draw(st.booleans()):
        doc["tags"] = draw(_TAGS)
    doc["trigger"] = trigger
    entry: dict[str, Any] = {}
    if "schedule" in trigger or draw(st.booleans()):
        entry["audience"] = draw(st.sampled_from(EXPRESSIONS))
    if draw(st.booleans()):
        entry["re_entry"] = draw(_RE_ENTRY)
    if entry:
        doc["entry"] = entry
    if draw(st.booleans()):
        goal: dict[str, Any] = {"event": draw(event_names())}
        events.add(goal["event"])
        if draw(st.booleans()):
            goal["where"] = draw(st.sampled_from(EVENT_EXPRESSIONS))
        if draw(st.booleans()):
            goal["within"] = draw(duration_texts())
        doc["goal"] = goal
    if draw(st.booleans()):
        exit_on: list[Any] = []
        for _ in range(draw(st.integers(1, 3))):
            name = draw(event_names())
            events.add(name)
            exit_on.append(name if draw(st.booleans()) else {"event": name, "where": draw(st.sampled_from(EVENT_EXPRESSIONS))})
        doc["exit_on"] = exit_on
    settings: dict[str, Any] = {}
    if draw(st.booleans()):
        settings["timezone"] = draw(st.sampled_from(TIMEZONES))
    if draw(st.booleans()):
        start, end = draw(_QUIET_HOURS)
        settings["quiet_hours"] = {"from": start, "to": end}
    if draw(st.booleans()):
        settings["frequency_cap"] = {"max": draw(st.integers(1, 10)), "per": draw(duration_texts())}
    if settings or draw(st.booleans()):
        doc["settings"] = settings
    doc["steps"] = steps
    result.doc = doc
    result.events = frozenset(events)
    return result


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


# --- rendering -------------------------------------------------------------------------


@cache
@st.composite
def yaml_layouts(draw: st.DrawFn) -> dict[str, Any]:
    """Options for yaml.safe_dump: block or mixed flow style, indent, line width, escaping."""
    return {
        "default_flow_style": draw(st.sampled_from((False, None))),
        "indent": draw(st.sampled_from((2, 4))),
        "width": draw(st.sampled_from((40, 80, 4096))),
        "allow_unicode": draw(st.booleans()),
        "sort_keys": False,
    }


def render(doc: Any, layout: dict[str, Any] | None = None, *, header: bool = False) -> str:
    text = yaml.safe_dump(doc, **(layout or {"sort_keys": False, "allow_unicode": True}))
    if header:
        text = "# yaml-language-server: $schema=../schemas/journey.schema.json\n# generated\n" + text
    return text


@st.composite
def journey_texts(draw: st.DrawFn, max_steps: int = 30) -> tuple[str, GeneratedJourney]:
    journey = draw(generated_journeys(max_steps=max_steps))
    return render(journey.doc, draw(yaml_layouts()), header=draw(st.booleans())), journey


def change_content(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` with the text of one step changed (or the name, when no step has text)."""
    changed = copy.deepcopy(doc)
    for step in changed["steps"]:
        if "send" in step:
            send = step["send"]
            key = next((k for k in ("body", "subject", "title") if k in send), None)
            if key:
                send[key] += " (v2)"
            else:
                send["template"] = next(t for t in TEMPLATE_FILES if t != send["template"])
            return changed
        if "webhook" in step:
            step["webhook"]["url"] += "?v=2"
            return changed
    changed["name"] += " (v2)"
    return changed


# --- mutations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    name: str
    text: str
    must_fail: bool
    rules: frozenset[str] = frozenset()
    """When not empty, at least one error must have one of these rules."""


Path_ = tuple[str | int, ...]


def _get(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _walk(value: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every (path, value) below `value`, depth first, not descending into free-form values."""
    found: list[tuple[Path_, Any]] = [(path, value)]
    if _is_free_form(path):
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_walk(child, (*path, key)))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            found.extend(_walk(child, (*path, n)))
    return found


def _is_free_form(path: Path_) -> bool:
    """Keys and values that the schema does not constrain: update set/compute names, webhook headers and body."""
    return any(part in ("set", "compute", "headers") for part in path if isinstance(part, str)) or ("webhook" in path and "body" in path)


def _steps_of(doc: dict[str, Any], *kinds: str) -> list[int]:
    return [n for n, s in enumerate(doc["steps"]) if any(k in s for k in kinds)]


STRING_KEYS = frozenset(
    {
        "id", "name", "description", "event", "where", "segment", "cron", "at", "timezone", "audience", "within",
        "from", "to", "per", "next", "channel", "category", "subject", "preheader", "title", "template", "url",
        "until", "until_date", "offset", "repeat", "timeout_next", "when", "else", "method", "timeout", "reason",
    }
)  # fmt: skip
OBJECT_KEYS = frozenset({"trigger", "entry", "goal", "settings", "schedule", "quiet_hours", "frequency_cap", "send", "wait_for", "split"})
OBJECT_KEYS |= frozenset({"update", "webhook", "set", "compute", "headers"})
ARRAY_KEYS = frozenset({"steps", "tags", "exit_on", "branch", "paths", "days", "unset"})
NUMBER_KEYS = frozenset({"weight", "holdout"})

WRONG_FOR = {
    "string": st.one_of(st.integers(-5, 5), st.just([]), st.just(["a"]), st.just({"a": 1}), st.none(), st.booleans()),
    "object": st.one_of(st.integers(-5, 5), st.just(["a"]), st.just("text"), st.none(), st.booleans()),
    "array": st.one_of(st.integers(-5, 5), st.just({"a": 1}), st.just("text"), st.none(), st.booleans()),
    "number": st.one_of(st.just("ten"), st.just([1]), st.just({"a": 1}), st.none(), st.booleans()),
    "integer": st.one_of(st.just("ten"), st.just([1]), st.just({}), st.none(), st.booleans(), st.just(1.5)),
    "string-or-object": st.one_of(st.integers(-5, 5), st.just(["a"]), st.none(), st.booleans()),
    "exit": st.one_of(st.integers(0, 5), st.just(["a"]), st.just("yes"), st.none(), st.just(False)),
}


def _expected_type(path: Path_) -> str | None:
    key = path[-1]
    if key == "body":
        return "string" if "send" in path else None  # a webhook body may be any JSON value
    if isinstance(key, int):
        parent = path[-2] if len(path) >= 2 else None
        if parent in ("tags", "days", "unset"):
            return "string"
        if parent == "exit_on":
            return "string-or-object"
        if parent in ("steps", "paths", "branch"):
            return "object"
        return None
    if key == "wait" or key == "re_entry":
        return "string-or-object"
    if key == "exit":
        return "exit"
    if key == "max":
        return "integer"
    for kind, keys in (("string", STRING_KEYS), ("object", OBJECT_KEYS), ("array", ARRAY_KEYS), ("number", NUMBER_KEYS)):
        if key in keys:
            return kind
    return None


REQUIRED_KEYS = {
    (): ("id", "name", "trigger", "steps"),
    "schedule": ("cron", "at"),  # a schedule needs one of them; only one is ever written
    "path": ("name", "weight", "next"),
    "quiet_hours": ("from", "to"),
    "frequency_cap": ("max", "per"),
}


def _required_paths(doc: dict[str, Any]) -> list[Path_]:
    """Paths of keys whose removal makes the journey invalid."""
    found: list[Path_] = [(k,) for k in REQUIRED_KEYS[()]]
    trigger = doc["trigger"]
    found.extend(("trigger", k) for k in ("event", "segment", "schedule") if k in trigger)
    if "schedule" in trigger:
        found.extend(("trigger", "schedule", k) for k in REQUIRED_KEYS["schedule"] if k in trigger["schedule"])
    if "goal" in doc:
        found.append(("goal", "event"))
    settings = doc.get("settings", {})
    for group in ("quiet_hours", "frequency_cap"):
        if group in settings:
            found.extend(("settings", group, k) for k in REQUIRED_KEYS[group])
    if isinstance(doc.get("entry", {}).get("re_entry"), dict):
        found.append(("entry", "re_entry", "after"))
    if "schedule" in trigger and "audience" in doc.get("entry", {}):
        found.append(("entry", "audience"))
    for n, item in enumerate(doc.get("exit_on", [])):
        if isinstance(item, dict):
            found.append(("exit_on", n, "event"))
    for n, step in enumerate(doc["steps"]):
        at = ("steps", n)
        found.append((*at, "id"))
        if "send" in step:
            found.append((*at, "send", "channel"))
            send = step["send"]
            if send["channel"] == "email":
                found.append((*at, "send", "subject"))
            if send["channel"] == "sms" or (send["channel"] == "email"):
                found.extend((*at, "send", k) for k in ("body", "template") if k in send)
        if "wait_for" in step:
            found.append((*at, "wait_for", "event"))
        if isinstance(step.get("wait"), dict):
            found.extend((*at, "wait", k) for k in ("until", "until_date") if k in step["wait"])
        if "split" in step:
            found.append((*at, "split", "paths"))
            for p in range(len(step["split"]["paths"])):
                found.extend((*at, "split", "paths", p, k) for k in REQUIRED_KEYS["path"])
        if "branch" in step:
            for b, item in enumerate(step["branch"]):
                found.extend((*at, "branch", b, k) for k in item)
        if "webhook" in step:
            found.append((*at, "webhook", "url"))
        for kind in STEP_KEYS:
            if kind in step:
                found.append((*at, kind))  # a step without a kind does nothing
    return found


def _typo(draw: st.DrawFn, key: str) -> str:
    candidates = [
        key + "s",
        key[:-1] if len(key) > 1 else key + "x",
        key[1:] + key[0] if len(key) > 1 else "x" + key,
        key.upper(),
        key.replace("_", "-") if "_" in key else key + "_",
        key[: len(key) // 2] + "x" + key[len(key) // 2 :],
    ]
    return draw(st.sampled_from([c for c in candidates if c not in SCHEMA_KEYS and c != key] or [key + "_x"]))


def _rename(mapping: dict[str, Any], old: str, new: str) -> None:
    items = list(mapping.items())
    mapping.clear()
    mapping.update((new if k == old else k, v) for k, v in items)


TEMPLATE_BREAKERS = (
    "Hi {{ customer.first_name",
    "{{ }}",
    "{% if customer.vip %}VIP",
    "{{ customer.name | no_such_filter }}",
    "{{ user.name }}",
    "{{ customer.__class__ }}",
    "{% include 'other.html' %}",
    "{{ customer.name }} {% endif %}",
)
EXPRESSION_BREAKERS = (
    "customer.age >",
    "customer.age >= 18 }}",
    "(customer.age",
    "user.age > 1",
    "customer.x | no_such_filter",
    "customer.__class__",
    "customer.age is no_such_test",
    "customer.a customer.b",
)
BAD_DURATIONS = ("0s", "5y", "P1M", "1.5h", "PT", "soon", "1 h", "P", "P1Y2M", "0d", "-1h", "h1")
BAD_OFFSETS = ("1y", "P1M", "soon", "0d", "+-1d", "1.5d")


def _template_paths(doc: dict[str, Any]) -> list[Path_]:
    found: list[Path_] = []
    for n, step in enumerate(doc["steps"]):
        for key in ("subject", "preheader", "title", "body", "url"):
            if isinstance(step.get("send", {}).get(key), str):
                found.append(("steps", n, "send", key))
        if "webhook" in step:
            found.append(("steps", n, "webhook", "url"))
            found.extend(("steps", n, "webhook", "headers", h) for h in step["webhook"].get("headers", {}))
    return found


def _expression_paths(doc: dict[str, Any]) -> list[Path_]:
    found: list[Path_] = [p for p, v in _walk(doc) if p and p[-1] in ("where", "when", "audience", "segment", "until_date")]
    for n, step in enumerate(doc["steps"]):
        found.extend(("steps", n, "update", "compute", k) for k in step.get("update", {}).get("compute", {}))
    return found


def _duration_paths(doc: dict[str, Any]) -> list[tuple[Path_, bool]]:
    found: list[tuple[Path_, bool]] = []
    for path, value in _walk(doc):
        if not path or not isinstance(value, str) or _is_free_form(path):
            continue
        if path[-1] in ("within", "after", "per", "timeout") or (path[-1] == "wait"):
            found.append((path, False))
        elif path[-1] == "offset":
            found.append((path, True))
    return found


def _target_paths(doc: dict[str, Any]) -> list[Path_]:
    """Places a step id can be written and is followed: `next` of falling-through steps, timeouts, branches, splits."""
    found: list[Path_] = []
    for n, step in enumerate(doc["steps"]):
        if any(k in step for k in ("send", "wait", "wait_for", "update", "webhook")):
            found.append(("steps", n, "next"))
        if "timeout_next" in step.get("wait_for", {}):
            found.append(("steps", n, "wait_for", "timeout_next"))
        for b, item in enumerate(step.get("branch", [])):
            found.extend(("steps", n, "branch", b, k) for k in item if k != "when")
        for p in range(len(step.get("split", {}).get("paths", []))):
            found.append(("steps", n, "split", "paths", p, "next"))
    return found


def _set(doc: Any, path: Path_, value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _delete(doc: Any, path: Path_) -> None:
    del _get(doc, path[:-1])[path[-1]]


@st.composite
def document_mutations(draw: st.DrawFn, journey: GeneratedJourney) -> tuple[str, dict[str, Any], frozenset[str]]:
    """One change to a valid document that makes it invalid: (name, document, rules one of which must be reported)."""
    doc = copy.deepcopy(journey.doc)
    steps = doc["steps"]
    ids = journey.step_ids
    options = [
        *("delete_required", "rename_key", "wrong_type") * 3,  # the open-ended ones, three times as often
        "duplicate_step_id",
        "break_template",
        "break_expression",
        "loop_without_wait",
        "invalid_duration",
        "two_kinds",
        "reserved_end_id",
        "invalid_step_id",
        "invalid_journey_id",
        "bad_timezone",
        "bad_time_of_day",
        "schedule_without_audience",
        "empty_steps",
        "equal_quiet_hours",
        "bad_cron",
        "missing_template",
    ]
    if _target_paths(doc):
        options.append("missing_target")
    if _steps_of(doc, "split"):
        options += ["weight_not_positive", "duplicate_split_path"]
    if _steps_of(doc, "branch"):
        options += ["remove_else", "else_not_last"]
    if _steps_of(doc, "send"):
        options += ["unknown_channel", "body_and_template"]
    if _steps_of(doc, "wait_for"):
        options.append("timeout_without_within")
    if _steps_of(doc, "branch", "split", "exit"):
        options.append("next_not_allowed")
    # Hypothesis favours the first choice; rotating by the step count spreads that bias over all mutations.
    name = options[(draw(st.integers(0, len(options) - 1)) + len(steps)) % len(options)]
    rules: frozenset[str] = frozenset()

    if name == "delete_required":
        _delete(doc, draw(st.sampled_from(_required_paths(doc))))
    elif name == "rename_key":
        keys = [p for p, _ in _walk(doc) if p and isinstance(p[-1], str) and not _is_free_form(p[:-1])]
        path = draw(st.sampled_from(keys))
        _rename(_get(doc, path[:-1]), path[-1], _typo(draw, path[-1]))
    elif name == "wrong_type":
        typed = [(p, t) for p, _ in _walk(doc) if p and (t := _expected_type(p))]
        path, expected = draw(st.sampled_from(typed))
        _set(doc, path, draw(WRONG_FOR[expected]))
    elif name == "missing_target":
        missing = draw(st.sampled_from(("no_such_step", "finish", "Next-Step", "step 2")))
        while missing in ids:
            missing += "_x"
        _set(doc, draw(st.sampled_from(_target_paths(doc))), missing)
        rules = frozenset({"unknown-target", "invalid-id"})
    elif name == "duplicate_step_id":
        if len(steps) > 1:
            i, j = draw(st.lists(st.integers(0, len(steps) - 1), min_size=2, max_size=2, unique=True))
            steps[j]["id"] = steps[i]["id"]
        else:
            steps.append(copy.deepcopy(steps[0]))
        rules = frozenset({"duplicate-step-id"})
    elif name == "break_template":
        paths = _template_paths(doc)
        breaker = draw(st.sampled_from(TEMPLATE_BREAKERS))
        if paths:
            _set(doc, draw(st.sampled_from(paths)), breaker)
        else:
            steps.insert(0, {"id": "broken_send", "send": {"channel": "sms", "body": breaker}})
        rules = frozenset({"template-syntax", "unknown-filter", "unknown-variable", "unsafe-template"})
    elif name == "break_expression":
        paths = _expression_paths(doc)
        breaker = draw(st.sampled_from(EXPRESSION_BREAKERS))
        if paths and draw(st.booleans()):
            _set(doc, draw(st.sampled_from(paths)), breaker)
        else:
            doc.setdefault("entry", {})["audience"] = breaker
        rules = frozenset({"expression-syntax", "unknown-filter", "unknown-variable", "unsafe-template"})
    elif name == "loop_without_wait":
        candidates = _steps_of(doc, "send", "update", "webhook", "branch", "split")
        n = draw(st.sampled_from(candidates)) if candidates else 0
        step = steps[n]
        if "branch" in step:
            step["branch"].insert(0, {"when": "customer.retry", "next": step["id"]})
        elif "split" in step:
            step["split"]["paths"].append({"name": "zz_again", "weight": 1, "next": step["id"]})
        else:
            if not candidates:
                for kind in STEP_KEYS:
                    step.pop(kind, None)
                step["update"] = {"set": {"looped": True}}
            step["next"] = step["id"]
        rules = frozenset({"loop-without-wait"})
    elif name == "invalid_duration":
        paths = _duration_paths(doc)
        if paths and draw(st.booleans()):
            path, signed = draw(st.sampled_from(paths))
            _set(doc, path, draw(st.sampled_from(BAD_OFFSETS if signed else BAD_DURATIONS)))
        else:
            doc.setdefault("settings", {})["frequency_cap"] = {"max": 1, "per": draw(st.sampled_from(BAD_DURATIONS))}
        rules = frozenset({"invalid-duration"})
    elif name == "two_kinds":
        step = steps[draw(st.integers(0, len(steps) - 1))]
        extra = draw(st.sampled_from([k for k in ("exit", "wait", "update") if k not in step]))
        step[extra] = {"exit": True, "wait": "1h", "update": {"unset": ["flag"]}}[extra]
        rules = frozenset({"step-kind"})
    elif name == "reserved_end_id":
        steps[draw(st.integers(0, len(steps) - 1))]["id"] = "end"
        rules = frozenset({"invalid-id"})
    elif name == "invalid_step_id":
        steps[draw(st.integers(0, len(steps) - 1))]["id"] = draw(st.sampled_from(("Bad-Id", "1st", "with space", "", "_x", "a" * 65)))
        rules = frozenset({"invalid-id"})
    elif name == "invalid_journey_id":
        doc["id"] = draw(st.sampled_from(("Welcome Series", "9lives", "", "x" * 65, "dash-id")))
        rules = frozenset({"invalid-id"})
    elif name == "bad_timezone":
        zone = draw(st.sampled_from(("Mars/Olympus", "Europe/Pariss", "GMT+25", "Not a zone")))
        if "schedule" in doc["trigger"] and draw(st.booleans()):
            doc["trigger"]["schedule"]["timezone"] = zone
        else:
            doc.setdefault("settings", {})["timezone"] = zone
        rules = frozenset({"invalid-timezone"})
    elif name == "bad_time_of_day":
        bad = draw(st.sampled_from(("25:00", "9am", "12:60", "noon", "7", "10:5")))
        waits = [n for n in _steps_of(doc, "wait") if isinstance(steps[n]["wait"], dict) and "until" in steps[n]["wait"]]
        if waits and draw(st.booleans()):
            steps[draw(st.sampled_from(waits))]["wait"]["until"] = bad
        else:
            doc.setdefault("settings", {})["quiet_hours"] = {"from": "21:00", "to": bad}
        rules = frozenset({"invalid-time-of-day"})
    elif name == "schedule_without_audience":
        doc["trigger"] = {"schedule": {"cron": "0 9 * * *"}}
        doc.get("entry", {}).pop("audience", None)
        rules = frozenset({"schedule-needs-audience"})
    elif name == "empty_steps":
        doc["steps"] = []
    elif name == "equal_quiet_hours":
        doc.setdefault("settings", {})["quiet_hours"] = {"from": "09:00", "to": "9:00"}
        rules = frozenset({"invalid-quiet-hours"})
    elif name == "bad_cron":
        doc["trigger"] = {"schedule": {"cron": draw(st.sampled_from(("every day", "61 * * * *", "* * * *", "0 9 * * MON *")))}}
        doc.setdefault("entry", {})["audience"] = "true"
        rules = frozenset({"invalid-cron"})
    elif name == "missing_template":
        steps.insert(0, {"id": "zz_missing", "send": {"channel": "sms", "template": "templates/no_such_file.html"}})
        rules = frozenset({"missing-template"})
    elif name == "weight_not_positive":
        n = draw(st.sampled_from(_steps_of(doc, "split")))
        value = draw(st.sampled_from((0, -1, -0.5, 0.0)))
        if draw(st.booleans()):
            split_paths = steps[n]["split"]["paths"]
            split_paths[draw(st.integers(0, len(split_paths) - 1))]["weight"] = value
        else:
            steps[n]["split"]["holdout"] = value
        rules = frozenset({"split-weight"})
    elif name == "duplicate_split_path":
        split_paths = steps[draw(st.sampled_from(_steps_of(doc, "split")))]["split"]["paths"]
        split_paths.append({**split_paths[0], "weight": 1})
        rules = frozenset({"duplicate-split-path"})
    elif name == "remove_else":
        branch = steps[draw(st.sampled_from(_steps_of(doc, "branch")))]["branch"]
        branch.pop()
        rules = frozenset({"branch-without-else", "schema"})
    elif name == "else_not_last":
        branch = steps[draw(st.sampled_from(_steps_of(doc, "branch")))]["branch"]
        branch.append({"when": "customer.late", "next": "end"})
        rules = frozenset({"else-not-last"})
    elif name == "unknown_channel":
        steps[draw(st.sampled_from(_steps_of(doc, "send")))]["send"]["channel"] = draw(st.sampled_from(("fax", "Email", "whatsapp", "")))
        rules = frozenset({"unknown-channel"})
    elif name == "body_and_template":
        send = steps[draw(st.sampled_from(_steps_of(doc, "send")))]["send"]
        send["body"] = "Hello"
        send["template"] = "templates/plain.html"
        rules = frozenset({"body-and-template"})
    elif name == "timeout_without_within":
        wait_for = steps[draw(st.sampled_from(_steps_of(doc, "wait_for")))]["wait_for"]
        wait_for.pop("within", None)
        wait_for["timeout_next"] = "end"
        rules = frozenset({"timeout-without-within"})
    elif name == "next_not_allowed":
        steps[draw(st.sampled_from(_steps_of(doc, "branch", "split", "exit")))]["next"] = "end"
        rules = frozenset({"next-not-allowed"})
    else:  # pragma: no cover - the list above is exhaustive
        raise AssertionError(name)
    return name, doc, rules


def _offsets(draw: st.DrawFn, text: str) -> int:
    return draw(st.integers(0, len(text)))


@st.composite
def text_mutations(draw: st.DrawFn, text: str) -> tuple[str, str]:
    """One edit of the YAML text that may or may not keep it valid."""
    lines = text.split("\n")
    name = draw(
        st.sampled_from(
            ("truncate", "insert_tab", "indent_with_tab", "garbage", "bracket", "delete_line", "duplicate_line", "swap_lines", "shift_line")
        )
    )
    if name == "truncate":
        return name, text[: _offsets(draw, text)]
    if name == "insert_tab":
        at = _offsets(draw, text)
        return name, text[:at] + "\t" + text[at:]
    if name == "garbage":
        at = _offsets(draw, text)
        junk = draw(
            st.one_of(st.text(min_size=1, max_size=8), st.sampled_from(("&a", "*a", "!!", "%YAML 1.1", "---", "...", "? ", "@", "`")))
        )
        return name, text[:at] + junk + text[at:]
    if name == "bracket":
        at = _offsets(draw, text)
        return name, text[:at] + draw(st.sampled_from("[]{}\"'|>")) + text[at:]
    n = draw(st.integers(0, max(len(lines) - 1, 0)))
    if name == "indent_with_tab":
        stripped = lines[n].lstrip(" ")
        lines[n] = "\t" * max(1, (len(lines[n]) - len(stripped)) // 2) + stripped
    elif name == "delete_line":
        del lines[n]
    elif name == "duplicate_line":
        lines.insert(n, lines[n])
    elif name == "swap_lines":
        m = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines[n], lines[m] = lines[m], lines[n]
    else:
        lines[n] = " " * draw(st.integers(0, 6)) + lines[n].lstrip(" ")
    return name, "\n".join(lines)


@st.composite
def mutated_journeys(draw: st.DrawFn, max_steps: int = 12) -> Mutation:
    """A valid journey with one mutation of its document (must fail) or of its text (may or may not)."""
    journey = draw(generated_journeys(max_steps=max_steps))
    layout = draw(yaml_layouts())
    if draw(st.sampled_from(("document", "document", "document", "text"))) == "text":
        name, text = draw(text_mutations(render(journey.doc, layout)))
        return Mutation(f"text:{name}", text, must_fail=False)
    name, doc, rules = draw(document_mutations(journey))
    return Mutation(name, render(doc, layout), must_fail=True, rules=rules)


@st.composite
def text_mutated_journeys(draw: st.DrawFn, max_steps: int = 12) -> Mutation:
    """A valid journey with one edit of its YAML text (truncation, a tab, garbage...), valid or not."""
    journey = draw(generated_journeys(max_steps=max_steps))
    name, text = draw(text_mutations(render(journey.doc, draw(yaml_layouts()))))
    return Mutation(f"text:{name}", text, must_fail=False)


@st.composite
def corrupted_journeys(draw: st.DrawFn, max_steps: int = 12) -> str:
    """A valid journey with one value anywhere in it replaced by an arbitrary JSON-like value."""
    journey = draw(generated_journeys(max_steps=max_steps))
    doc = copy.deepcopy(journey.doc)
    path = draw(st.sampled_from([p for p, _ in _walk(doc) if p]))
    _set(doc, path, draw(json_values(12)))
    return render(doc, draw(yaml_layouts()))


# --- fuzz values -------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(("end", "1h", "PT5M", "09:00", "email", "{{ customer.x }}", "customer.x", "true", "UTC")),
)
fuzz_keys = st.one_of(st.sampled_from(sorted(SCHEMA_KEYS)), st.text(max_size=10))


def json_values(max_leaves: int = 40) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values whose mapping keys are often journey keywords."""
    return st.recursive(
        json_scalars,
        lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(fuzz_keys, children, max_size=6)),
        max_leaves=max_leaves,
    )


def journey_shaped_values() -> st.SearchStrategy[dict[str, Any]]:
    """Mappings with the journey's top-level keys (and a few steps) holding arbitrary values."""
    step = st.dictionaries(st.sampled_from(("id", "next", *STEP_KEYS, "description")), json_values(12), max_size=4)
    return st.fixed_dictionaries(
        {
            "id": st.one_of(identifiers(), json_scalars),
            "name": json_scalars,
            "trigger": json_values(8),
            "steps": st.lists(step, max_size=5),
        },
        optional={k: json_values(10) for k in ("entry", "goal", "exit_on", "settings", "tags", "description")},
    )


def dump_any(value: Any) -> str:
    """YAML text for any JSON-like value (non-string keys included)."""
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


def dump_json(value: Any) -> str:
    """JSON is YAML too: the flow form exercises other parser paths."""
    return json.dumps(value, ensure_ascii=False)
