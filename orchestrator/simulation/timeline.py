"""What a simulation shows: the customer's steps, the events its steps read, messages, skipped sends, webhook calls,
an anonymous visitor's login and the outcome, as text or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Timeline:
    """What happened to the customer: the JSON form of `journey simulate --format json`.

    Nothing the journey tried is left out: a send that went out is in `messages` (one held by
    quiet hours or the SMS window carries `due`, when the step asked, and `held`, why); one
    that did not is in `skipped` with the delivery gate's or the renderer's reason; any other
    step that could not do its part (a computed value, a value the profile refused, a webhook
    not made, an `until_date` without a date) is in `problems`, as the API shows them; a
    customer who never entered has the refusing entry rule as `outcome.reason`, and one whose
    enrollment ended has why (an `exit` step's reason, `exit_on: <event>`, `goal: <event>`...). An
    anonymous visitor who logged in is in `merges`: from then on the enrollment is the known customer's.
    """

    journey: str
    version: str
    steps: list[dict[str, str]]
    messages: list[dict[str, Any]]
    outcome: dict[str, Any]
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    """Webhook calls the journey made (recorded, not sent): {at, step, method, url, body}."""
    skipped: list[dict[str, Any]] = field(default_factory=list)
    """Sends that sent nothing: {at, step, channel, reason}."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    """What other steps could not do: {at, step, field, problem} (orchestrator/store/problems.py)."""
    awaited: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What the steps read as `events`: by wait_for step id, its latest match {name, properties, timestamp}
    (only the wait_for steps the journey reads)."""
    merges: list[dict[str, str]] = field(default_factory=list)
    """The anonymous visitor merged into a known customer when they logged in: {at, anonymous_id, customer_id}
    (`anonymous_id` as the calls carry it, without the `anonymous:` of its profile's id)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "journey": self.journey,
            "version": self.version,
            "steps": self.steps,
            "awaited": self.awaited,
            "messages": self.messages,
            "skipped": self.skipped,
            "webhooks": self.webhooks,
            "problems": self.problems,
            "merges": self.merges,
            "outcome": self.outcome,
        }

    def text(self) -> str:
        lines = [f"journey {self.journey} (version {self.version})"]
        # Sorted by time; at equal times a message or webhook follows the step that made it.
        events: list[tuple[str, float, str]] = [(s["at"], n, f"step     {s['step']}") for n, s in enumerate(self.steps)]
        for m in self.messages:
            if "due" in m:
                events.append((m["due"], self._made_by(m, m["due"]), f"  {m['channel']:<5} held: {m['held']}"))
            headline = m["subject"] if m["subject"] is not None else m["body"]
            events.append((m["at"], self._made_by(m, m["at"]), f"  {m['channel']:<5} to {m['to']}: {one_line(headline)}"))
        for s in self.skipped:
            events.append((s["at"], self._made_by(s, s["at"]), f"  {s['channel']:<5} not sent: {s['reason']}"))
        events += [(w["at"], self._made_by(w, w["at"]), f"  webhook {w['method']} {w['url']} (not sent)") for w in self.webhooks]
        events += [(p["at"], self._made_by(p, p["at"]), f"  problem {p['field']}: {p['problem']}") for p in self.problems]
        for step, event in self.awaited.items():
            # At the match, just after the wait_for was entered and before the step it leads to.
            properties = one_line(json.dumps(event["properties"], ensure_ascii=False), 100)
            made = self._made_by({"step": step}, event["timestamp"])
            events.append((event["timestamp"], made, f"  events.{step} = {event['name']} {properties}"))
        # A login is a scripted event: at a tie it comes before what a timer did at that instant, as on the server.
        merged = [(m["at"], -1.0, f"merged   anonymous visitor {m['anonymous_id']} into customer {m['customer_id']}") for m in self.merges]
        events += merged
        lines += [f"{at}  {what}" for at, _, what in sorted(events, key=lambda e: (e[0], e[1]))]
        outcome = self.outcome
        where = f" at step {outcome['step']}" if outcome["step"] else ""
        why = f": {outcome['reason']}" if outcome.get("reason") else ""
        lines.append(f"{outcome['at']}  outcome  {outcome['status']}{where}{why}")
        return "\n".join(lines)

    def _made_by(self, item: dict[str, Any], at: str) -> float:
        """Just after the latest entry, by `at`, into the step that made `item` (a message, skipped send, webhook or problem)."""
        entries = [n for n, s in enumerate(self.steps) if s["step"] == item["step"] and s["at"] <= at]
        return (entries[-1] if entries else len(self.steps)) + 0.5


def one_line(text: str, limit: int = 80) -> str:
    """`text` on one line, white space folded, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def iso(moment: datetime) -> str:
    """UTC, whole seconds, `Z`.

    Truncated, not rounded: the test server's clock runs on while activities execute,
    so a simulated run drifts *forward* by the real time its steps take (milliseconds
    each, up to about a second over a whole journey on a busy machine), while every
    instant a journey can produce is a whole second.
    """
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
