"""What one enrollment remembers as it runs, and carries into a new run when its history grows long.

A long enrollment (loops, many events while it waits) would grow its workflow
history without end, so the interpreter continues it as new once the history
passes a limit. Everything the enrollment remembers travels in `ResumeState`:
its entry time (the goal's window), how often it visited each step (part of a
send's and a webhook's idempotency key), the events queued and the ids seen (so
a re-delivered event is not applied twice), its trail (the status query), the
latest match of each `wait_for` step the journey reads as `events.<id>`, the
journey facts it collected and has not handed to the store yet, and a move onto a
newer version it was asked for and has not decided on yet.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.runtime.contracts import AwaitedEvent, EventMessage, MoveRequest, ProgressFact, ResumeState, TrailEntry

SEEN_LIMIT = 500
"""Message ids remembered for de-duplication of re-delivered signals."""
TRAIL_LIMIT = 200
"""Step entries kept for the status query (the newest)."""


class EnrollmentState:
    """The enrollment's memory; changed only by the workflow's signal handler and its run loop."""

    def __init__(self) -> None:
        self.inbox: list[EventMessage] = []
        """Events received and not yet applied, oldest first."""
        self.seen: list[str] = []
        self.trail: list[TrailEntry] = []
        self.visits: dict[str, int] = {}
        self.awaited: dict[str, AwaitedEvent] = {}
        """`events` for the steps: by wait_for step id, the latest event it matched (only steps the journey reads)."""
        self.entered_at: datetime
        """When the customer entered the journey (set by `start`)."""
        self.progress = 0
        """Steps entered and events applied by this run: a run continues as new only after some progress."""
        self.unreported: list[ProgressFact] = []
        """Steps reached and rests collected (revision 3 on) and not yet handed to the store, oldest first."""
        self.move: MoveRequest | None = None
        """The latest `move` signal, until the enrollment decides on it at a wait (orchestrator/runtime/migration.py)."""
        self.cancelled: str | None = None
        """Why the enrollment was cancelled (a cohort's `cancel` signal), until it ends; None: it was not. A single
        enrollment is never cancelled this way, so its commands are the same as before the mark existed."""

    @property
    def step(self) -> str | None:
        """The step the enrollment is at: the last one it entered (None before its first)."""
        return self.trail[-1].step if self.trail else None

    def receive(self, event: EventMessage) -> None:
        """Queue a signalled event, unless its message id was seen already (a re-delivery)."""
        if event.message_id in self.seen:
            return
        self.seen.append(event.message_id)
        del self.seen[:-SEEN_LIMIT]
        self.inbox.append(event)

    def cancel(self, reason: str) -> None:
        """Mark the enrollment cancelled: it ends, as `exited` with `reason`, where it next applies events."""
        self.cancelled = reason

    def ask_move(self, request: MoveRequest) -> None:
        """Keep a move request for the next wait; a later one replaces it (a newer deploy's)."""
        self.move = request

    def take_move(self) -> MoveRequest | None:
        """The move request kept, taken off to be decided on."""
        request, self.move = self.move, None
        return request

    def start(self, now: datetime, resume: ResumeState | None) -> None:
        """A new enrollment enters at `now`; a continued one takes up what the previous run carried."""
        self.entered_at = now
        if resume is None:
            return
        # Signals that arrived before this run's first task are already queued: keep them after the carried ones.
        self.inbox = list(resume.pending) + self.inbox
        self.seen = list(resume.seen) + [m for m in self.seen if m not in resume.seen]
        self.trail = list(resume.trail)
        self.visits = dict(resume.visits)
        self.awaited = dict(resume.awaited)
        self.unreported = list(resume.unreported)
        self.move = self.move or resume.move  # one signalled before this run's first task is the newer
        self.entered_at = datetime.fromisoformat(resume.entered_at)

    def enter(self, step: str, now: datetime) -> None:
        self.progress += 1
        self.visits[step] = self.visits.get(step, 0) + 1
        self.trail.append(TrailEntry(step, now.isoformat()))
        del self.trail[:-TRAIL_LIMIT]

    def remember(self, step: str, event: EventMessage) -> None:
        """`step` (a wait_for) matched `event`: the steps after read it as `events.<step>`; a later match replaces it."""
        self.awaited[step] = AwaitedEvent.of(event)

    def next_event(self) -> EventMessage:
        """The oldest queued event, taken off the queue to be applied."""
        self.progress += 1
        return self.inbox.pop(0)

    def note(self, fact: ProgressFact) -> None:
        """Collect a fact for the next report (before the enrollment blocks, or with its end)."""
        self.unreported.append(fact)

    def reported(self) -> list[ProgressFact]:
        """The collected facts, handed over now: the list is emptied."""
        facts, self.unreported = self.unreported, []
        return facts

    def has_progressed(self) -> bool:
        """Whether this run has entered a step or applied an event: only then may it continue as new (a new run that has
        done nothing yet would only continue as new again, forever)."""
        return self.progress > 0

    def carried(self, step: str, *, waiting: bool, wait_until: str | None) -> ResumeState:
        """What the next run starts from: at `step`, or still `waiting` there until `wait_until`."""
        return ResumeState(
            step=step,
            entered_at=self.entered_at.isoformat(),
            visits=self.visits,
            pending=self.inbox,
            seen=self.seen,
            trail=self.trail,
            waiting=waiting,
            wait_until=wait_until,
            awaited=self.awaited,
            unreported=self.unreported,
            move=self.move,
        )
