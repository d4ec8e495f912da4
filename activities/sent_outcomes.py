"""Recording that a provider accepted a message: the ledger's `sent`, its fact and the outbox row, several sends per transaction.

Every send writes twice, the claim before the provider call and the outcome after it, and on
SQLite each write waits its turn behind every other writer of the process. Activity threads
whose provider calls end at about the same time record their outcomes together: the first to
find no transaction under way writes its own and every other one waiting, in one transaction,
while those wait for it (group commit). Each send still returns only after its own outcome is
committed, so what the workflow sees and what a retried attempt finds in the ledger are as before.
It pays when many activity threads send at once, as bench/send_path.py runs them.

If the shared transaction fails on a row, each outcome of it is written again in a transaction of
its own, so that one bad row costs only its own send an error; if the database itself fails (locked
past the busy timeout, unreachable), every send of the group fails with that error at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import OperationalError

from activities.messages import Message
from activities.progress_facts import outcome_facts
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import OutboxMessage, Store, StoreSession
from orchestrator.store.values import DeliveryKey

ERASED_MEANWHILE = "the customer was erased while the provider had the message: nothing of it was recorded"


@dataclass
class Accepted:
    """A message the provider took, to be recorded as `sent`."""

    request: SendRequest
    key: DeliveryKey
    message: Message
    provider_message_id: str
    sent_at: datetime
    """The send's `now`: when the outbox says it went."""
    dead_tokens: Sequence[str] = ()
    """Push tokens the provider reported unregistered, to remove from the profile."""

    earlier: tuple[str, str | None] | None = field(default=None, init=False)
    """After recording: the outcome another attempt recorded first (status, reason), if one did."""
    _error: BaseException | None = field(default=None, init=False)
    _done: bool = field(default=False, init=False)


class SentOutcomes:
    """Records accepted messages for the activity threads of one process; `record` is thread-safe."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._waiting: list[Accepted] = []
        self._waiting_lock = threading.Lock()
        self._writing = threading.Lock()
        """Held by the thread whose transaction records the outcomes waiting when it began."""

    def record(self, accepted: Accepted) -> None:
        """Write `sent` (only over `intent`) and the outbox row; set `accepted.earlier` if another attempt decided first.

        Dead push tokens change the profile, which needs the customer's lock: such a send records
        alone, under that lock.
        """
        if accepted.dead_tokens:
            with self.store.session(lock_customer=accepted.request.customer_id) as session:
                self._write(session, accepted)
            return
        with self._waiting_lock:
            self._waiting.append(accepted)
        with self._writing:
            if not accepted._done:
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                self._write_group(group)
        if accepted._error is not None:
            raise accepted._error

    def _write_group(self, group: list[Accepted]) -> None:
        try:
            try:
                with self.store.session() as session:
                    for accepted in group:
                        self._write(session, accepted)
            except Exception as error:
                if len(group) == 1 or isinstance(error, OperationalError):
                    # OperationalError is the database's, not a row's (locked past the busy timeout, gone):
                    # writing each outcome again would wait that timeout once per send.
                    for accepted in group:
                        accepted._error = error
                else:
                    self._write_each(group)
        except BaseException as error:  # interrupted: no send of the group may pass for recorded
            for accepted in group:
                accepted._error = accepted._error or error
            raise
        finally:
            for accepted in group:
                accepted._done = True

    def _write_each(self, group: list[Accepted]) -> None:
        """After the shared transaction failed (and wrote nothing): each outcome in a transaction of its own."""
        for accepted in group:
            accepted.earlier = None
            try:
                with self.store.session() as session:
                    self._write(session, accepted)
            except Exception as error:
                accepted._error = error

    def _write(self, session: StoreSession, accepted: Accepted) -> None:
        request, key, message = accepted.request, accepted.key, accepted.message
        marked = session.mark_delivery(key, "sent", self.clock(), provider_message_id=accepted.provider_message_id)
        if not marked:
            accepted.earlier = _recorded_outcome(session, key)
            return
        session.remove_push_tokens(request.customer_id, accepted.dead_tokens, accepted.sent_at)
        session.record_facts(outcome_facts(request, "sent", message.channel, None, accepted.sent_at))
        session.add_outbox_message(outbox_message(request, message, accepted.sent_at))


def outbox_message(request: SendRequest, message: Message, sent_at: datetime) -> OutboxMessage:
    """The outbox's copy of a sent message: what the customer saw, for `journey simulate` and the console."""
    return OutboxMessage(
        customer_id=request.customer_id,
        enrollment_id=request.enrollment_id,
        journey_id=request.journey_id,
        version=request.version,
        step_id=request.step.id,
        channel=message.channel,
        to=message.to,
        subject=message.subject if message.channel == "email" else message.title,
        body=message.body,
        sent_at=sent_at,
    )


def _recorded_outcome(session: StoreSession, key: DeliveryKey) -> tuple[str, str | None]:
    """The status and reason of the ledger row `send_message` claimed for this delivery.

    It was claimed at the start of this very attempt; only an erasure of the customer since deletes it
    (docs/privacy.md, "Erasure"). Then nothing of the message is recorded: its workflow has been ended.
    """
    outcome = session.delivery_outcome(key)
    if outcome is None:
        return "sent", ERASED_MEANWHILE
    return outcome
