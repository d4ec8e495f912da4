"""What became of each send in a simulation: sent (perhaps after being held), or skipped and why.

The workflow keeps no record of a send's result, and the delivery ledger stamps rows by the
wall clock, not the journey's; so the simulator registers the real `send_message` activity
wrapped in a recorder (same activity name, same input and result) and reads each attempt's
journey-clock time from its request. A held send is attempted again when the hold ends, with
the same visit: its first attempt says when it was due and why it waited, its last what
became of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import activity

from orchestrator.runtime.contracts import SendRequest, SendResult
from orchestrator.simulation.timeline import iso
from orchestrator.store import OutboxMessage

Attempt = tuple[SendRequest, SendResult]


class SendRecorder:
    """Wraps the `send_message` activity, and a cohort's batch of sends, and remembers every attempt that returned a result."""

    def __init__(self, send: Callable[[SendRequest], SendResult], send_all: Callable[[list[SendRequest]], list[SendResult]]) -> None:
        self._send = send
        self._send_all = send_all
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    @activity.defn(name="send_message", no_thread_cancel_exception=True)
    def send_message(self, request: SendRequest) -> SendResult:
        result = self._send(request)
        with self._lock:
            self.attempts.append((request, result))
        return result

    def send_all(self, requests: list[SendRequest]) -> list[SendResult]:
        results = self._send_all(requests)
        with self._lock:
            self.attempts.extend(zip(requests, results, strict=True))
        return results


def sends_shown(
    attempts: list[Attempt], outbox: list[OutboxMessage], ended: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `messages` and `skipped` of a timeline; `ended`: the enrollment ended (else the simulation's horizon came first)."""
    visits: dict[tuple[str, int], list[Attempt]] = {}
    for request, result in attempts:
        visits.setdefault((request.step.id, request.visit), []).append((request, result))
    sent: dict[str, list[list[Attempt]]] = {step: [] for step, _ in visits}
    skipped: list[dict[str, Any]] = []
    for (step, _), tries in visits.items():
        first, (last_request, last) = tries[0], tries[-1]
        if last.status == "sent":
            sent[step].append(tries)
            continue
        if last.status == "deferred":
            waited = "the enrollment ended first" if ended else "the simulation ended first"
            reason = f"held ({last.reason}); never sent: {waited}"
        else:
            reason = last.reason or last.status
        skipped.append({"at": iso(_at(first[0])), "step": step, "channel": last_request.step.channel, "reason": reason})
    messages: list[dict[str, Any]] = []
    for m in outbox:
        message: dict[str, Any] = {
            "at": iso(m.sent_at), "step": m.step_id, "channel": m.channel, "to": m.to, "subject": m.subject, "body": m.body
        }
        tries = sent[m.step_id].pop(0) if sent.get(m.step_id) else []
        if tries and tries[0][1].status == "deferred":
            message["due"] = iso(_at(tries[0][0]))
            message["held"] = tries[0][1].reason
        messages.append(message)
    return messages, sorted(skipped, key=lambda s: s["at"])


def _at(request: SendRequest) -> datetime:
    return datetime.fromisoformat(request.now)
