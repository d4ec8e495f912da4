"""Random runnable cases, from a seed: a valid journey, a customer and a script of events, for running, not compiling.

tests/compiler/strategies.py draws journeys that stress the compiler's syntax; these stress what a run
does. Every step kind is drawn with what changes its outcome (quiet hours, caps, consent, fallback
channels, locale variants, templates that fail on a missing value, waits on a date the profile may
lack, a remembered `events.<id>` read later, updates the profile refuses, webhooks not made...), and
each case comes with a customer (addresses, consent, time zone, locale; some traits missing) and events
the journey listens to or not, whose properties make its conditions true or false, including `identify`
calls that change the profile mid-run.

A seeded generator rather than Hypothesis: each run of a case costs the time-skipping server a fraction
of a second, so the budget is a few dozen cases, and they should all differ (Hypothesis spends much of a
small budget on near-copies of earlier examples). A case is reproduced from its seed alone.

The graph is valid by construction: each step is reached from the one before it (falling through, a
branch's `else`, a split's first path, a wait_for's match), the other edges only go forward, and the one
loop, when drawn, goes back to a wait and is bounded by a counter the journey itself keeps.

No event happens at the instant a timer ends. The example journeys hold the tie rule (the event comes
first: a live timer ends a moment after its nominal instant); a random case should not turn on how many
milliseconds a loaded machine added to a timer. Starts, durations, times of day and dates are whole minutes, so every timer ends on a whole
minute or on an event's second of the minute plus whole minutes (a step entered when an event arrived);
events are on distinct odd seconds of the minute, so none falls where a timer ends.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml

from orchestrator.simulation.script import IDENTIFY, ScriptedEvent

T = TypeVar("T")

TRIGGER = "signed_up"
CLICKED = "clicked"
REPLIED = "replied"
PURCHASED = "purchased"
UNSUBSCRIBED = "unsubscribed"
COMPLAINED = "complained"
NOISE = "page_viewed"
"""An event no journey listens to: both runs pass it over."""

TEMPLATE_FILES = {
    "templates/note.html": (
        "<p>Hello {{ customer.first_name | default('there') }},</p>\n"
        "<p>Your credit: {{ customer.credit | default(1234.5) | currency('EUR') }},"
        " renewal on {{ customer.renewal_date | default('2026-03-01') | date('long') }}.</p>\n"
    ),
    "templates/note.fr.html": "<p>Bonjour {{ customer.first_name | default('vous') }}, crédit {{ 1234.5 | currency('EUR') }}.</p>\n",
    "templates/note.fr_CA.html": "<p>Allô {{ customer.first_name | default('vous') }}!</p>\n",
}
"""A template file with locale variants: which one a customer gets depends on their `locale`."""

STEP_KINDS = (
    *("send",) * 4,
    *("wait", "wait_until", "wait_until_date"),
    *("wait_for",) * 2,
    *("branch", "split", "update", "webhook"),
)
"""What the steps before the journey's own tail (a loop, an exit) are drawn from: sends most often."""
DURATIONS = ("30m", "45m", "1h", "2h", "6h", "1d", "2d", "3d")
TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
ODD_SECONDS = (7, 13, 19, 23, 29, 37, 41, 47, 53, 59)
"""Seconds of the minute events happen on: odd, distinct within a script (see the module's docstring)."""
FIRST_START = datetime(2026, 2, 2, tzinfo=UTC)
"""A Monday; cases start within the week after it, on a quarter hour."""


def write_templates(directory: Path) -> None:
    """The template files the generated journeys name, below `directory` (the journeys' folder)."""
    for relative, content in TEMPLATE_FILES.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """One journey document, one customer, one script, one start: what both runs are given."""

    seed: int
    document: dict[str, Any]
    customer: dict[str, Any]
    events: list[ScriptedEvent]
    start: datetime

    def journey_yaml(self) -> str:
        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True, width=200)

    def describe(self) -> str:
        """The case as a reader reproduces it with `journey simulate`: the journey, customer and events files."""
        script = [{"at": f"{e.offset_seconds}s", "event": e.name, "properties": e.properties} for e in self.events]
        return "\n".join(
            [
                f"seed {self.seed}, start {self.start.isoformat()}",
                "journey:",
                textwrap.indent(self.journey_yaml(), "  "),
                f"customer: {self.customer!r}",
                "events:",
                textwrap.indent(yaml.safe_dump(script, sort_keys=False, allow_unicode=True, width=200), "  "),
            ]
        )


def case(seed: int) -> Case:
    """The case of `seed`: the same on every machine and every run."""
    return _Maker(random.Random(seed)).case(seed)


class _Maker:
    """Draws one case; remembers what the journey has so steps and events refer only to what exists."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.trigger = "event"
        self.wait_fors: list[str] = []
        self.listened: set[str] = set()
        self.awaited: set[str] = set()
        """The events the wait_for steps wait for."""

    def pick(self, *choices: T) -> T:
        return self.rng.choice(choices)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def case(self, seed: int) -> Case:
        self.trigger = self.pick("event", "event", "event", "event", "segment", "schedule")
        count = self.rng.randint(3, 8)
        ids = [f"s{n}" for n in range(count)]
        kinds = [self.pick(*STEP_KINDS) for _ in ids]
        if self.chance(0.4):
            kinds[0] = "send"  # as many journeys do: a message on entry, then waits
        # wait_for ids are known before the steps are drawn, so a template anywhere may read `events.<id>`.
        self.wait_fors = [step_id for step_id, kind in zip(ids, kinds, strict=True) if kind == "wait_for"]
        waits = [step_id for step_id, kind in zip(ids, kinds, strict=True) if kind in ("wait", "wait_until")]
        loop = bool(waits) and self.chance(0.4)
        leave = self.chance(0.4)
        order = ids + (["lap", "again"] if loop else []) + (["leave"] if leave else []) + ["end"]
        steps = [
            self.step(step_id, kind, order[n + 1], order[n + 2 :] or ["end"])
            for n, (step_id, kind) in enumerate(zip(ids, kinds, strict=True))
        ]
        if loop:
            steps.append({"id": "lap", "update": {"compute": {"laps": "customer.laps | default(0) + 1"}}})
            again = {"when": f"customer.laps < {self.rng.randint(1, 3)}", "next": self.pick(*waits)}
            steps.append({"id": "again", "branch": [again, {"else": "leave" if leave else "end"}]})
        if leave:
            steps.append({"id": "leave", "exit": self.pick(True, {"reason": "done with this customer"})})
        document: dict[str, Any] = {"id": "generated", "name": "Generated journey", "trigger": self.trigger_document()}
        audience = self.audience()
        if audience:
            document["entry"] = {"audience": audience}
        if self.chance(0.5):
            document["goal"] = self.goal()
            self.listened.add(document["goal"]["event"])
        if self.chance(0.5):
            resting = [step_id for step_id, kind in zip(ids, kinds, strict=True) if kind.startswith("wait")]
            document["exit_on"] = [self.exit_on(resting)]
        settings = self.settings()
        if settings:
            document["settings"] = settings
        document["steps"] = steps
        start = FIRST_START + timedelta(minutes=15 * self.rng.randrange(7 * 24 * 4))
        return Case(seed, document, self.customer(start), self.script(), start)

    # --- the journey -----------------------------------------------------------------------------------------

    def trigger_document(self) -> dict[str, Any]:
        if self.trigger == "segment":
            return {"segment": "customer.tier == 'gold'"}
        if self.trigger == "schedule":
            return self.pick(
                {"schedule": {"cron": "0 10 * * *"}},
                {"schedule": {"cron": "30 8 * * MON", "timezone": "Europe/Paris"}},
                {"schedule": {"at": "2026-02-05T10:00:00", "timezone": "America/New_York"}},  # before some starts: never fires
            )
        self.listened.add(TRIGGER)
        return self.pick({"event": TRIGGER}, {"event": TRIGGER}, {"event": TRIGGER, "where": "event.amount | default(0) >= 10"})

    def audience(self) -> str | None:
        if self.trigger == "schedule":
            return self.pick("true", "customer.plan != 'free'")
        return self.pick(None, None, None, None, None, "customer.country in ['US', 'FR']", "not customer.vip")

    def goal(self) -> dict[str, Any]:
        # The trigger's own event as the goal converts on the next one, never the one that enrolled.
        goal: dict[str, Any] = {"event": self.pick(PURCHASED, PURCHASED, PURCHASED, TRIGGER) if self.trigger == "event" else PURCHASED}
        if self.chance(0.5):
            goal["within"] = self.pick("1d", "3d", "7d")
        wheres = ["event.amount >= 20", *(f"events.{s} is defined" for s in self.wait_fors)]
        if self.chance(0.3):
            goal["where"] = self.pick(*wheres)
        return goal

    def exit_on(self, waits: list[str]) -> str | dict[str, Any]:
        event = self.pick(UNSUBSCRIBED, COMPLAINED)
        self.listened.add(event)
        if event == UNSUBSCRIBED:
            # Only while the enrollment is at one of its waits, when it has some: `journey.step` is where it is.
            return {"event": event, "where": f"journey.step == '{self.pick(*waits)}'"} if waits and self.chance(0.3) else event
        return {"event": event, "where": "event.severity == 'high'"}

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        if self.chance(0.5):
            settings["timezone"] = self.pick(*TIMEZONES)
        if self.chance(0.4):
            settings["quiet_hours"] = self.pick({"from": "21:00", "to": "08:00"}, {"from": "12:00", "to": "14:30"})
        if self.chance(0.3):
            settings["frequency_cap"] = self.pick({"max": 1, "per": "1d"}, {"max": 2, "per": "6h"})
        return settings

    def step(self, step_id: str, kind: str, following: str, later: list[str]) -> dict[str, Any]:
        """A step of `kind` that reaches `following` (the next in the list) and otherwise only `later` steps or `end`."""
        match kind:
            case "send":
                return {"id": step_id, "send": self.send()}
            case "wait":
                return {"id": step_id, "wait": self.pick(*DURATIONS)}
            case "wait_until":
                wait: dict[str, Any] = {"until": self.pick("07:00", "09:30", "13:15", "22:45")}
                if self.chance(0.4):
                    wait["days"] = self.rng.sample(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], self.rng.randint(1, 3))
                return {"id": step_id, "wait": wait}
            case "wait_until_date":
                wait = {"until_date": self.pick("customer.renewal_date", "customer.renewal_date | default('2026-02-01')")}
                if self.chance(0.4):
                    wait["offset"] = self.pick("-1d", "2h", "-30m")
                if self.chance(0.5):
                    wait["at"] = "10:00"
                if self.chance(0.3):
                    wait["repeat"] = "yearly"
                return {"id": step_id, "wait": wait}
            case "wait_for":
                return {"id": step_id, "wait_for": self.wait_for(later)}
            case "branch":
                cases = [{"when": self.condition(), "next": self.pick(*later)} for _ in range(self.rng.randint(1, 2))]
                return {"id": step_id, "branch": [*cases, {"else": following}]}
            case "split":
                other = {"name": "b", "weight": self.pick(1, 1, 3), "next": self.pick(*later)}
                split: dict[str, Any] = {"paths": [{"name": "a", "weight": 1, "next": following}, other]}
                if self.chance(0.4):
                    split["holdout"] = 1
                return {"id": step_id, "split": split}
            case "update":
                return {"id": step_id, "update": self.update()}
            case "webhook":
                return {"id": step_id, "webhook": self.webhook()}
        raise ValueError(kind)

    def wait_for(self, later: list[str]) -> dict[str, Any]:
        event = self.pick(CLICKED, REPLIED, PURCHASED)
        self.listened.add(event)
        self.awaited.add(event)
        wait: dict[str, Any] = {"event": event}
        if self.chance(0.4):
            wait["where"] = {CLICKED: "event.link == 'a'", REPLIED: "event.answer == 'yes'", PURCHASED: "event.amount >= 50"}[event]
        elif self.chance(0.15):
            wait["where"] = "customer.plan == 'pro'"  # the profile as it is when the event arrives
        if self.chance(0.8):
            wait["within"] = self.pick("1h", "1d", "2d")
            if self.chance(0.5):
                wait["timeout_next"] = self.pick(*later)
        return wait

    def text(self) -> str:
        safe = [
            "Hello {{ customer.first_name | default('there') }}",
            "You are on {{ customer.plan | default('no plan') | upper }}",
            "{{ journey.id }} {{ journey.step }}",
            "{% if customer.vip is defined and customer.vip %}VIP{% else %}member{% endif %}",
            "Score {{ customer.score | default(0) | number }}",
            *(f"{{{{ events.{s}.properties.answer | default('no answer') }}}}" for s in self.wait_fors),
        ]
        # Each fails the message where its value is missing.
        failing = [
            "Hi {{ customer.first_name }}",
            "{% if customer.vip %}VIP{% endif %}",
            *(f"{{{{ events.{s}.name }}}} at {{{{ events.{s}.timestamp }}}}" for s in self.wait_fors),
        ]
        if self.trigger == "event":
            safe.append("Thanks for {{ event.amount | default(0) | currency('USD') }}")
            failing.append("Your {{ event.amount }}")
        return " - ".join(self.pick(*(failing if self.chance(0.07) else safe)) for _ in range(self.rng.randint(1, 3)))

    def send(self) -> dict[str, Any]:
        channel: str | list[str] = self.pick("email", "email", "email", "email", "sms", "push", ["push", "sms", "email"], ["sms", "email"])
        channels = channel if isinstance(channel, list) else [channel]
        send: dict[str, Any] = {"channel": channel}
        if self.chance(0.3):
            send["category"] = "transactional"
        if "email" in channels:
            send["subject"] = self.text()
        if "push" in channels:
            send["title"] = self.text()
            if self.chance(0.5):
                send["url"] = "https://app.example.com/{{ journey.step }}?c={{ customer.id | urlencode }}"
        if channels == ["email"] and self.chance(0.4):
            send["template"] = "templates/note.html"
        else:
            send["body"] = self.text()
        return send

    def condition(self) -> str:
        conditions = [
            "customer.plan == 'pro'",
            "customer.country in ['US', 'FR']",
            "customer.age >= 18",
            "customer.vip",
            "customer.tier == 'silver'",
            "customer.score | default(0) > 3",
            "customer.email_opt_in and customer.email is defined",
        ]
        conditions += [f"events.{s}.properties.answer == 'yes'" for s in self.wait_fors]
        conditions += [f"events.{s} is defined" for s in self.wait_fors]
        if self.trigger == "event":
            conditions += ["event.amount >= 50", "event.source == 'web'"]
        return self.pick(*conditions)

    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = {}
        if self.chance(0.5):
            update["set"] = self.pick({"tier": "silver"}, {"plan": "pro", "email": "other@example.com"}, {"locale": "fr"}, {"vip": True})
        if self.chance(0.6):
            update["compute"] = self.pick(
                {"score": "customer.score | default(0) + 2"},
                {"timezone": "'Mars/Olympus_Mons'"},  # the profile refuses it: a problem, the rest is written
                {"timezone": "'America/New_York'"},  # later local-time waits and quiet hours move
                {"next_order": "customer.orders + 1"},  # fails without `orders`: a problem
                {"city": "customer.first_name | default('nobody') | lower"},
            )
        if self.chance(0.3) or not update:
            update["unset"] = self.pick(["first_name"], ["vip", "tier"])
        return update

    def webhook(self) -> dict[str, Any]:
        webhook: dict[str, Any] = {
            "url": self.pick(
                "https://hooks.example.com/{{ journey.id }}/{{ journey.step }}",
                "https://hooks.example.com/{{ journey.id }}/{{ journey.step }}",
                "{{ customer.website | default('ftp://nowhere.example.com') }}",  # not http(s): not made, a problem
            )
        }
        if self.chance(0.5):
            webhook["method"] = self.pick("GET", "PUT", "POST")
        if self.chance(0.5):
            webhook["headers"] = {"Authorization": "Bearer {{ secrets.HOOK_TOKEN }}", "X-Plan": "{{ customer.plan | default('-') }}"}
        bodies: list[Any] = [
            {"customer": "{{ customer.id }}", "plan": "{{ customer.plan | default('none') }}", "tags": ["journey", 3]},
            "step {{ journey.step }} for {{ customer.first_name }}",  # not made for a customer without a first name
            *({"answer": f"{{{{ events.{s}.properties.answer }}}}"} for s in self.wait_fors),
        ]
        if self.chance(0.6):
            webhook["body"] = self.pick(*bodies)
        return webhook

    # --- the customer and the script ----------------------------------------------------------------------

    def customer(self, start: datetime) -> dict[str, Any]:
        """Most customers can be reached by e-mail; fewer by SMS and push; some traits missing."""
        traits: dict[str, Any] = {
            "id": f"c-{self.rng.randrange(10_000)}",  # split assignment is by customer: many ids, many paths
            "email": self.pick("ann@example.com", "zoe@example.fr") if self.chance(0.85) else None,
            "phone": "+14155552671" if self.chance(0.5) else None,
            "push_tokens": ["push-token-1"] if self.chance(0.5) else None,
            "email_opt_in": self.pick(True, True, True, False) if self.chance(0.5) else None,
            "sms_opt_in": self.pick(True, True, True, False) if self.chance(0.7) else None,
            "push_opt_in": self.pick(True, True, True, False) if self.chance(0.5) else None,
            "timezone": self.pick(*TIMEZONES) if self.chance(0.5) else None,
            "locale": self.pick("en-US", "fr", "fr-CA", "de") if self.chance(0.5) else None,
            "first_name": self.pick("Ann", "Zoé") if self.chance(0.75) else None,
            "plan": self.pick("free", "pro") if self.chance(0.75) else None,
            "country": self.pick("US", "FR", "DE") if self.chance(0.75) else None,
            "age": self.rng.randint(15, 40) if self.chance(0.5) else None,
            "vip": self.pick(True, False) if self.chance(0.5) else None,
            "tier": self.pick("gold", "gold", "gold", "silver") if self.chance(0.8) else None,
            "score": self.rng.randint(0, 6) if self.chance(0.5) else None,
            "renewal_date": (start.date() + timedelta(days=self.rng.randint(-20, 60))).isoformat() if self.chance(0.5) else None,
            "email_undeliverable": True if self.chance(0.1) else None,
        }
        return {key: value for key, value in traits.items() if value is not None}

    def properties(self, name: str) -> dict[str, Any]:
        match name:
            case "signed_up":
                properties: dict[str, Any] = {}
                if self.chance(0.8):
                    properties["amount"] = self.pick(25, 80, 5)
                if self.chance(0.5):
                    properties["source"] = self.pick("web", "app")
                return properties
            case "clicked":
                return {"link": self.pick("a", "b")}
            case "replied":
                return {"answer": self.pick("yes", "no")}
            case "purchased":
                return {"amount": self.pick(10, 30, 60)}
            case "complained":
                return {"severity": self.pick("high", "low")}
            case "identify":
                changes = {
                    "tier": self.pick("gold", "silver"),
                    "plan": self.pick("free", "pro"),
                    "email_opt_in": self.pick(True, False),
                    "sms_opt_in": self.pick(True, False),
                    "timezone": self.pick(*TIMEZONES),
                    "first_name": self.pick("Bea", None),
                    "email": self.pick("new@example.com", None),
                    "renewal_date": "2026-02-20",
                }
                return dict(self.rng.sample(sorted(changes.items()), self.rng.randint(1, 3)))
        return {}

    def minutes(self) -> int:
        """When an event happens, in minutes after the start: most while the journey's waits (hours, days) still run."""
        span = self.pick((0, 180), (180, 2 * 24 * 60), (2 * 24 * 60, 8 * 24 * 60))
        return self.rng.randint(*span)

    def script(self) -> list[ScriptedEvent]:
        # What the wait_for steps wait for is usually sent, at several instants: a journey waits mostly for events
        # that do come; the rest are drawn among what the journey listens to, twice as often as the others.
        names = [name for name in sorted(self.awaited) for _ in range(self.pick(0, 1, 2, 3))]
        others = sorted(self.listened) * 2 + [NOISE, IDENTIFY, IDENTIFY]
        names += [self.pick(*others) for _ in range(self.rng.randint(0, 4))]
        seconds = self.rng.sample(ODD_SECONDS, len(ODD_SECONDS))
        events = []
        if self.trigger == "event" and self.chance(0.9):
            events.append(ScriptedEvent(seconds.pop() + 60 * self.rng.randint(0, 5), TRIGGER, self.properties(TRIGGER)))
        for name, second in zip(names, seconds, strict=False):
            events.append(ScriptedEvent(second + 60 * self.minutes(), name, self.properties(name)))
        return sorted(events, key=lambda e: e.offset_seconds)
