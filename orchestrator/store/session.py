"""StoreSession: every read and write of the store, inside one transaction (see `Store.session`).

One code path for SQLite and PostgreSQL: SQLAlchemy Core, with the dialect's own
INSERT for `ON CONFLICT DO NOTHING` (both databases speak it, and both return
only the inserted rows from `RETURNING`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, NestedTransaction, Row, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from orchestrator.ir import Journey
from orchestrator.store import profiles as profile_rules
from orchestrator.store.prepared import Prepared
from orchestrator.store.profiles import SMS_STOP_TRAIT
from orchestrator.store.schema import (
    customer_locks,
    deliveries,
    enrollments,
    events,
    journey_versions,
    journeys,
    number_opt_outs,
    outbox_messages,
    provider_events,
    utc,
)
from orchestrator.store.schema import profiles as profiles_table
from orchestrator.store.values import (
    DELIVERY_OUTCOMES,
    FINISHED_STATUSES,
    Delivery,
    Enrollment,
    EventRow,
    OutboxMessage,
    Profile,
    ProviderEvent,
    delivery_key,
    message_reference,
)

EVENT_BATCH = 500
"""Rows per INSERT in `record_events`: 3,000 bound parameters, far under SQLite's 32,766."""


class StoreSession:
    """The store's operations, all in the transaction of the `Store.session()` that made this object."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._dialect = connection.dialect.name

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which has `on_conflict_do_nothing`."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        if self._dialect == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {self._dialect}")

    def _insert_new(self, statement: Insert) -> bool:
        """Run an INSERT ... ON CONFLICT DO NOTHING; True if it inserted the row.

        Told by RETURNING, not `rowcount`: SQLAlchemy keeps an INSERT's rowcount only on request,
        and psycopg then reports -1, so every insert would look like a conflict on PostgreSQL.
        """
        return self._conn.execute(statement.returning(*statement.table.primary_key.columns)).first() is not None

    def lock_customer(self, customer_id: str) -> datetime | None:
        """Serialize with every other session that locks `customer_id` until this transaction ends.

        Returns until when a router's lease on the customer runs, if one has a holder (it may have
        expired; see orchestrator/routing/lease.py), read after the lock is taken.
        PostgreSQL: a row lock on the customer's `customer_locks` row (inserted on first use), taken
        by one upsert that also returns the lease; locking and reading it took three statements, a
        round trip each, on every send (bench/RESULTS.md).
        SQLite: nothing to lock, every session already began IMMEDIATE (the single write lock).
        """
        if self._dialect == "sqlite":
            row = _LEASED_UNTIL.first(self._conn, {"lease_customer": customer_id})
        else:
            row = _LOCK_CUSTOMER.first(self._conn, {"lock_customer_id": customer_id})
        return row.held_until if row is not None else None

    def take_leases(self, customer_ids: Sequence[str], holder: str, now: datetime, until: datetime) -> bool:
        """Lease every one of `customer_ids` to `holder` until `until`; False if another holder's lease is live.

        A lease outlives this transaction (see orchestrator/routing/lease.py): it is how routing keeps
        one customer's calls in order across processes without holding a database lock while Temporal
        answers. On False the caller must roll back, which also undoes the leases that were taken.
        """
        statement = _TAKE_LEASE[self._dialect]
        lease = {"lease_holder": holder, "lease_until": utc(until, "until"), "lease_now": utc(now, "now")}
        for customer_id in dict.fromkeys(customer_ids):
            if self._conn.execute(statement, lease | {"lease_customer": customer_id}).first() is None:
                return False
        return True

    def release_leases(self, customer_ids: Sequence[str], holder: str) -> None:
        """End `holder`'s leases on `customer_ids` (a lease another holder took over after it expired stays)."""
        self._conn.execute(_RELEASE_LEASES, {"lease_customers": list(customer_ids), "lease_holder": holder})

    @contextmanager
    def savepoint(self) -> Iterator[NestedTransaction]:
        """A nested transaction: released when the block ends, unless rolled back inside it."""
        with self._conn.begin_nested() as nested:
            yield nested

    # --- profiles -------------------------------------------------------------

    def get_profile(self, customer_id: str) -> Profile | None:
        row = _SELECT_PROFILE.first(self._conn, {"profile_customer_id": customer_id})
        return _profile(row) if row else None

    def identify(self, customer_id: str, traits: dict[str, Any], at: datetime) -> tuple[Profile | None, Profile]:
        """Merge `traits` into the profile (created if new), Segment-style; returns (before, after).

        A null trait removes it; reserved traits (email, phone, timezone, locale, push_tokens,
        *_opt_in) are validated into fields. A bad value raises ProfileFieldError, writing nothing.
        """
        return self._change_profile(customer_id, at, lambda profile: profile_rules.apply_traits(profile, traits, at))

    def update_traits(self, customer_id: str, set: dict[str, Any], unset: Sequence[str], at: datetime) -> Profile:
        """A journey's `update` step: `set` as in identify, then remove each `unset` name."""
        changes: dict[str, Any] = {**set, **dict.fromkeys(unset)}
        return self._change_profile(customer_id, at, lambda profile: profile_rules.apply_traits(profile, changes, at))[1]

    def remove_push_tokens(self, customer_id: str, tokens: Sequence[str]) -> None:
        """Forget tokens the push provider reported as invalid; unknown ones (and an unknown customer) are ignored."""
        if not tokens:
            return
        profile = self._load_profile_for_update(customer_id)
        if profile is None:
            return
        remaining = [t for t in profile.push_tokens if t not in tokens]
        if len(remaining) == len(profile.push_tokens):
            return
        self._conn.execute(update(profiles_table).where(profiles_table.c.customer_id == customer_id).values(push_tokens=remaining))

    def iter_profiles(self, batch_size: int = 500) -> Iterator[Profile]:
        """Every profile, in customer id order, read `batch_size` at a time (keyset pagination)."""
        last: str | None = None
        while True:
            query = select(profiles_table).order_by(profiles_table.c.customer_id).limit(batch_size)
            if last is not None:
                query = query.where(profiles_table.c.customer_id > last)
            rows = self._conn.execute(query).all()
            for row in rows:
                yield _profile(row)
            if len(rows) < batch_size:
                return
            last = rows[-1].customer_id

    def customer_ids(self, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` customer ids in id order, starting after `after`: one page of a broadcast."""
        query = select(profiles_table.c.customer_id).order_by(profiles_table.c.customer_id).limit(limit)
        if after is not None:
            query = query.where(profiles_table.c.customer_id > after)
        return list(self._conn.execute(query).scalars())

    def _load_profile_for_update(self, customer_id: str) -> Profile | None:
        # FOR UPDATE (PostgreSQL; SQLite's IMMEDIATE transaction already excludes other writers):
        # two sessions changing one profile without lock_customer still cannot lose an update.
        query = select(profiles_table).where(profiles_table.c.customer_id == customer_id).with_for_update()
        row = self._conn.execute(query).one_or_none()
        return _profile(row) if row else None

    def _change_profile(self, customer_id: str, at: datetime, change: Callable[[Profile], Profile]) -> tuple[Profile | None, Profile]:
        at = utc(at, "at")
        for _ in range(2):
            before = self._load_profile_for_update(customer_id)
            after = self._with_number_opt_out(before, change(before or profile_rules.new_profile(customer_id, at)))  # raises first
            values = _profile_values(after)
            if before is not None:
                self._conn.execute(update(profiles_table).where(profiles_table.c.customer_id == customer_id).values(values))
                return before, after
            if self._insert_new(self._insert(profiles_table).values(customer_id=customer_id, **values).on_conflict_do_nothing()):
                return None, after
            # Another session created the profile between our read and insert: apply on top of it.
        raise RuntimeError(f"profile {customer_id!r} vanished while being changed")  # pragma: no cover - profiles are never deleted

    def _with_number_opt_out(self, before: Profile | None, after: Profile) -> Profile:
        """`after`, stopped if it gets a number that texted STOP and never START (docs/delivery.md, "STOP")."""
        if after.phone is None or after.traits.get(SMS_STOP_TRAIT) or (before is not None and before.phone == after.phone):
            return after
        opt_out = self.number_opt_out(after.phone)
        return after if opt_out is None else profile_rules.with_number_stop(after, *opt_out)

    # --- phone numbers that texted STOP -----------------------------------------

    def stop_number(self, phone: str, keyword: str, at: datetime) -> None:
        """Record that `phone` (E.164) opted out of SMS; the first record stands until `start_number`."""
        values = {"phone": phone, "keyword": keyword, "opted_out_at": utc(at, "at")}
        self._conn.execute(self._insert(number_opt_outs).values(values).on_conflict_do_nothing())

    def start_number(self, phone: str) -> None:
        """`phone` opted back in (START, YES, UNSTOP)."""
        self._conn.execute(delete(number_opt_outs).where(number_opt_outs.c.phone == phone))

    def number_opt_out(self, phone: str) -> tuple[str, datetime] | None:
        """(keyword, when) of `phone`'s opt-out, if it is opted out."""
        query = select(number_opt_outs.c.keyword, number_opt_outs.c.opted_out_at).where(number_opt_outs.c.phone == phone)
        row = self._conn.execute(query).first()
        return (row.keyword, row.opted_out_at) if row is not None else None

    # --- events ---------------------------------------------------------------

    def record_event(
        self, message_id: str, customer_id: str, name: str, properties: dict[str, Any], timestamp: datetime, received_at: datetime
    ) -> bool:
        """Record one event; False (and nothing written) if this message id was recorded before."""
        row = EventRow(message_id, customer_id, name, properties, timestamp, received_at)
        return self._insert_new(self._insert(events).values(_event_values(row)).on_conflict_do_nothing(index_elements=["message_id"]))

    def record_events(self, rows: Sequence[EventRow]) -> set[str]:
        """Record a batch; returns the message ids that were new (a repeated id counts once, first row wins)."""
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row.message_id, _event_values(row))
        values = list(unique.values())
        new: set[str] = set()
        for start in range(0, len(values), EVENT_BATCH):
            statement = (
                self._insert(events)
                .values(values[start : start + EVENT_BATCH])
                .on_conflict_do_nothing(index_elements=["message_id"])
                .returning(events.c.message_id)
            )
            new.update(self._conn.execute(statement).scalars())
        return new

    # --- journeys -------------------------------------------------------------

    def deploy(self, journey: Journey, at: datetime) -> bool:
        """Store this version (once) and make it the active one; True if the active version changed."""
        at = utc(at, "at")
        self._conn.execute(
            self._insert(journeys).values(journey_id=journey.id, active_version=None, updated_at=at).on_conflict_do_nothing()
        )
        self._conn.execute(
            self._insert(journey_versions)
            .values(journey_id=journey.id, version=journey.version, ir=journey.to_json(), deployed_at=at)
            .on_conflict_do_nothing()
        )
        # FOR UPDATE: two concurrent deploys of one journey agree on which of them changed it.
        active = self._conn.execute(
            select(journeys.c.active_version).where(journeys.c.journey_id == journey.id).with_for_update()
        ).scalar_one()
        if active == journey.version:
            return False
        self._conn.execute(
            update(journeys).where(journeys.c.journey_id == journey.id).values(active_version=journey.version, updated_at=at)
        )
        return True

    def deactivate(self, journey_id: str) -> None:
        """No new enrollments; running ones continue on their version. Deploying again reactivates."""
        self._conn.execute(update(journeys).where(journeys.c.journey_id == journey_id).values(active_version=None))

    def active_journeys(self) -> list[Journey]:
        query = (
            select(journey_versions.c.ir)
            .join(
                journeys,
                (journeys.c.journey_id == journey_versions.c.journey_id) & (journeys.c.active_version == journey_versions.c.version),
            )
            .order_by(journeys.c.journey_id)
        )
        return [_journey(ir) for ir in self._conn.execute(query).scalars()]

    def journey_version(self, journey_id: str, version: str) -> Journey | None:
        """Any version ever deployed, active or not (running enrollments may be on an old one)."""
        ir = self._conn.execute(
            select(journey_versions.c.ir).where((journey_versions.c.journey_id == journey_id) & (journey_versions.c.version == version))
        ).scalar_one_or_none()
        return _journey(ir) if ir is not None else None

    # --- enrollment index -----------------------------------------------------

    def start_enrollment(self, enrollment_id: str, journey_id: str, version: str, customer_id: str, entered_at: datetime) -> None:
        """Index a new running enrollment; starting one that is already indexed changes nothing."""
        entered_at = utc(entered_at, "entered_at")
        row = {"enrollment_id": enrollment_id, "journey_id": journey_id, "version": version, "customer_id": customer_id}
        state = {"status": "running", "current_step": None, "entered_at": entered_at, "ended_at": None}
        self._conn.execute(_START_ENROLLMENT[self._dialect], row | state)

    def enrollments_for(self, customer_id: str, *, running_only: bool = False) -> list[Enrollment]:
        """The customer's enrollments, oldest first."""
        query = _RUNNING_ENROLLMENTS if running_only else _ENROLLMENTS
        return [_enrollment(row) for row in self._conn.execute(query, {"enrollment_customer_id": customer_id})]

    def enrollment_count(self, journey_id: str, customer_id: str) -> tuple[int, datetime | None]:
        """How many times the customer entered the journey (any version), and when they last did."""
        query = select(func.count(), func.max(enrollments.c.entered_at)).where(
            (enrollments.c.journey_id == journey_id) & (enrollments.c.customer_id == customer_id)
        )
        count, last = self._conn.execute(query).one()
        return int(count), last

    def finish_enrollment(self, enrollment_id: str, status: str, step: str | None, at: datetime) -> None:
        """Mark a running enrollment finished. Idempotent: the first finish wins, repeats change nothing."""
        if status not in FINISHED_STATUSES:
            raise ValueError(f"{status!r} is not a finished enrollment status; use one of {sorted(FINISHED_STATUSES)}")
        at = utc(at, "at")
        self._conn.execute(
            update(enrollments)
            .where((enrollments.c.enrollment_id == enrollment_id) & (enrollments.c.status == "running"))
            .values(status=status, current_step=step, ended_at=at)
        )

    def get_enrollment(self, enrollment_id: str) -> Enrollment | None:
        row = self._conn.execute(select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)).one_or_none()
        return _enrollment(row) if row else None

    # --- delivery ledger ------------------------------------------------------

    def claim_delivery(
        self,
        enrollment_id: str,
        step_id: str,
        visit: int,
        channel: str,
        at: datetime,
        *,
        customer_id: str | None = None,
        journey_id: str | None = None,
        category: str | None = None,
    ) -> Delivery:
        """Claim the one delivery of (enrollment, step, visit): a new `intent` row, or the row a previous attempt left.

        The caller sends only when the returned status is `intent`; anything else means an
        earlier attempt already decided, and a retry must report that outcome instead of sending.
        """
        return self.claim_decided_delivery(
            enrollment_id, step_id, visit, channel, at, customer_id=customer_id, journey_id=journey_id, category=category
        )[0]

    def claim_decided_delivery(
        self,
        enrollment_id: str,
        step_id: str,
        visit: int,
        channel: str,
        at: datetime,
        *,
        customer_id: str | None = None,
        journey_id: str | None = None,
        category: str | None = None,
        status: str = "intent",
        reason: str | None = None,
        admitted_at: datetime | None = None,
    ) -> tuple[Delivery, bool]:
        """`claim_delivery`, with the row and whether this call wrote it.

        A new row can carry the delivery gate's outcome from the start (`status` suppressed with its
        `reason`, or `intent` with `admitted_at` or a deferral `reason`), so a first attempt writes
        its row once; a row that already existed is returned unchanged, and the caller decides it.
        """
        if status not in ("intent", "suppressed"):
            raise ValueError(f"a delivery is claimed as intent or suppressed, not {status!r}")
        at = utc(at, "at")
        values = {
            "enrollment_id": enrollment_id,
            "step_id": step_id,
            "visit": visit,
            "channel": channel,
            "status": status,
            "provider_message_id": None,
            "reason": reason,
            "created_at": at,
            "updated_at": at,
            "customer_id": customer_id,
            "journey_id": journey_id,
            "category": category,
            "admitted_at": utc(admitted_at, "admitted_at") if admitted_at is not None else None,
            "message_ref": message_reference(delivery_key(enrollment_id, step_id, visit)),
        }
        if _CLAIM[self._dialect].run(self._conn, values):  # 0 rows: an earlier attempt claimed it
            del values["message_ref"]
            return Delivery(**values), True
        return _delivery(_SELECT_DELIVERY.first(self._conn, _key_params(enrollment_id, step_id, visit))), False

    def delivery_outcome(self, enrollment_id: str, step_id: str, visit: int) -> tuple[str, str | None] | None:
        """(status, reason) of the ledger row of (enrollment, step, visit), if one was claimed; reads only.

        The send's re-read before the provider call: two columns cost half of `get_delivery`'s whole row.
        """
        row = _DELIVERY_OUTCOME.first(self._conn, _key_params(enrollment_id, step_id, visit))
        return (row.status, row.reason) if row is not None else None

    def get_delivery(self, enrollment_id: str, step_id: str, visit: int) -> Delivery | None:
        """The ledger row of (enrollment, step, visit), if one was claimed; reads only."""
        row = _SELECT_DELIVERY.first(self._conn, _key_params(enrollment_id, step_id, visit))
        return _delivery(row) if row is not None else None

    def mark_delivery(
        self,
        enrollment_id: str,
        step_id: str,
        visit: int,
        status: str,
        at: datetime,
        *,
        provider_message_id: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record the outcome of a claimed delivery; True if this call decided it.

        The first outcome stands: marking a decided row again changes nothing and returns False.
        """
        if status not in DELIVERY_OUTCOMES:
            raise ValueError(f"{status!r} is not a delivery outcome; use one of {sorted(DELIVERY_OUTCOMES)}")
        at = utc(at, "at")
        values = {"status": status, "provider_message_id": provider_message_id, "reason": reason, "updated_at": at}
        changed = _UPDATE_UNDECIDED.run(self._conn, {**values, **_key_params(enrollment_id, step_id, visit)})
        if (
            not changed
            and self._conn.execute(select(deliveries.c.status).where(_delivery_key(enrollment_id, step_id, visit))).first() is None
        ):
            raise LookupError(f"no delivery claimed for enrollment {enrollment_id} step {step_id} visit {visit}; claim_delivery first")
        return bool(changed)

    def admit_delivery(
        self, enrollment_id: str, step_id: str, visit: int, *, channel: str, category: str, admitted_at: datetime, at: datetime
    ) -> None:
        """The delivery gate let a claimed (`intent`) delivery go on `channel`: it counts towards caps from `admitted_at`."""
        values = {"channel": channel, "category": category, "admitted_at": utc(admitted_at, "admitted_at"), "updated_at": utc(at, "at")}
        _UPDATE_UNDECIDED.run(self._conn, {**values, **_key_params(enrollment_id, step_id, visit)})

    def note_delivery(self, enrollment_id: str, step_id: str, visit: int, reason: str, at: datetime) -> None:
        """Say why a claimed delivery is still undecided (held by quiet hours, until when); decided rows are left alone."""
        values = {"reason": reason, "updated_at": utc(at, "at")}
        _UPDATE_UNDECIDED.run(self._conn, {**values, **_key_params(enrollment_id, step_id, visit)})

    def gate_facts(
        self, customer_id: str, since: datetime, *, exclude: tuple[str, str, int]
    ) -> tuple[Profile | None, list[tuple[str, datetime]]]:
        """`get_profile(customer_id)`, and the (journey id, admitted_at) of the customer's deliveries that count under the caps.

        Those are the marketing deliveries admitted since `since`, sent or in flight: suppressed and
        failed ones gave their slot back, and `exclude` is the delivery being decided (a retry of an
        admitted one must not count itself). What the delivery gate reads on every send, in one
        statement: each comes back as one JSON value, the profile an array of its columns and the
        sends an array of pairs. SQLite's driver releases and takes back the GIL for every step and
        for every column of every row it reads: 22 times for the two statements this replaced, 7 for
        this one (bench/RESULTS.md). On PostgreSQL it is one round trip instead of two. No profile:
        (None, []), as the gate then needs no sends.
        """
        params = {"facts_customer_id": customer_id, "sends_since": utc(since, "since"), **_key_params(*exclude)}
        row = _GATE_FACTS[self._dialect].first(self._conn, params)
        if row is None:
            return None, []
        return _packed_profile(customer_id, row.profile), [(journey or "", _json_timestamp(at)) for journey, at in row.sends or ()]

    def deliveries_for(self, customer_id: str) -> list[Delivery]:
        """The customer's delivery ledger (sent, suppressed, failed, and pending with why), oldest first."""
        query = (
            select(deliveries)
            .where(deliveries.c.customer_id == customer_id)
            .order_by(deliveries.c.created_at, deliveries.c.enrollment_id, deliveries.c.step_id, deliveries.c.visit)
        )
        return [_delivery(row) for row in self._conn.execute(query)]

    # --- provider webhooks ----------------------------------------------------

    def delivery_for_message(self, *, reference: str | None = None, provider_message_id: str | None = None) -> Delivery | None:
        """The delivery a provider event is about: by the opaque reference it carries, else by the provider's message id."""
        for column, value in ((deliveries.c.message_ref, reference), (deliveries.c.provider_message_id, provider_message_id)):
            if value:
                row = self._conn.execute(select(deliveries).where(column == value).limit(1)).first()
                if row is not None:
                    return _delivery(row)
        return None

    def set_provider_status(
        self, enrollment_id: str, step_id: str, visit: int, status: str, at: datetime, *, unless: Callable[[str | None], bool]
    ) -> bool:
        """Record the provider's latest state of a delivery, unless `unless(current)` says the current one is further along.

        The row is read FOR UPDATE, so two webhooks about one message decide one after the other.
        """
        current = self._conn.execute(
            select(deliveries.c.provider_status).where(_delivery_key(enrollment_id, step_id, visit)).with_for_update()
        ).first()
        if current is None or unless(current.provider_status):
            return False
        self._conn.execute(
            update(deliveries)
            .where(_delivery_key(enrollment_id, step_id, visit))
            .values(provider_status=status, provider_status_at=utc(at, "at"))
        )
        return True

    def record_provider_events(self, rows: Sequence[ProviderEvent]) -> set[tuple[str, str]]:
        """Log provider events; returns the (provider, event id) pairs that were new (a repeat, even within `rows`, is dropped)."""
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(
                (row.provider, row.event_id),
                {
                    "provider": row.provider,
                    "event_id": row.event_id,
                    "kind": row.kind,
                    "customer_id": row.customer_id,
                    "enrollment_id": row.enrollment_id,
                    "step_id": row.step_id,
                    "visit": row.visit,
                    "detail": row.detail,
                    "occurred_at": utc(row.occurred_at, "occurred_at"),
                    "received_at": utc(row.received_at, "received_at"),
                },
            )
        if not unique:
            return set()
        new: set[tuple[str, str]] = set()
        values = list(unique.values())
        for start in range(0, len(values), EVENT_BATCH):
            statement = (
                self._insert(provider_events)
                .values(values[start : start + EVENT_BATCH])
                .on_conflict_do_nothing()
                .returning(provider_events.c.provider, provider_events.c.event_id)
            )
            new.update((provider, event_id) for provider, event_id in self._conn.execute(statement))
        return new

    def provider_events_for(self, customer_id: str) -> list[ProviderEvent]:
        """What providers reported about the customer's messages and replies, oldest first."""
        query = (
            select(provider_events)
            .where(provider_events.c.customer_id == customer_id)
            .order_by(provider_events.c.occurred_at, provider_events.c.received_at, provider_events.c.event_id)
        )
        return [
            ProviderEvent(
                provider=row.provider,
                event_id=row.event_id,
                kind=row.kind,
                occurred_at=row.occurred_at,
                received_at=row.received_at,
                customer_id=row.customer_id,
                enrollment_id=row.enrollment_id,
                step_id=row.step_id,
                visit=row.visit,
                detail=row.detail,
            )
            for row in self._conn.execute(query)
        ]

    def customers_with_phone(self, phone: str) -> list[Profile]:
        """Profiles whose number is `phone` (E.164), in customer id order: who texted an inbound SMS."""
        query = select(profiles_table).where(profiles_table.c.phone == phone).order_by(profiles_table.c.customer_id)
        return [_profile(row) for row in self._conn.execute(query)]

    # --- outbox ---------------------------------------------------------------

    def add_outbox_message(self, message: OutboxMessage) -> None:
        values = {
            "customer_id": message.customer_id,
            "enrollment_id": message.enrollment_id,
            "journey_id": message.journey_id,
            "version": message.version,
            "step_id": message.step_id,
            "channel": message.channel,
            "to_address": message.to,
            "subject": message.subject,
            "body": message.body,
            "sent_at": utc(message.sent_at, "sent_at"),
        }
        _INSERT_OUTBOX.run(self._conn, values)

    def messages_for(self, customer_id: str) -> list[OutboxMessage]:
        """What the customer received, oldest first (ties in the order they were stored)."""
        query = (
            select(outbox_messages)
            .where(outbox_messages.c.customer_id == customer_id)
            .order_by(outbox_messages.c.sent_at, outbox_messages.c.id)
        )
        return [
            OutboxMessage(
                customer_id=row.customer_id,
                enrollment_id=row.enrollment_id,
                journey_id=row.journey_id,
                version=row.version,
                step_id=row.step_id,
                channel=row.channel,
                to=row.to_address,
                subject=row.subject,
                body=row.body,
                sent_at=row.sent_at,
                id=row.id,
            )
            for row in self._conn.execute(query)
        ]


def _profile_values(profile: Profile) -> dict[str, Any]:
    return {
        "email": profile.email,
        "phone": profile.phone,
        "push_tokens": list(profile.push_tokens),
        "timezone": profile.timezone,
        "locale": profile.locale,
        "email_opt_in": profile.consent["email"],
        "sms_opt_in": profile.consent["sms"],
        "push_opt_in": profile.consent["push"],
        "traits": profile.traits,
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
    }


_PROFILE_FIELDS = (
    "email", "phone", "push_tokens", "timezone", "locale", "email_opt_in", "sms_opt_in", "push_opt_in", "traits",
    "created_at", "updated_at",
)  # fmt: skip
"""The profile's columns after `customer_id`, in `_new_profile`'s order: what `_gate_facts` packs, and in which order."""


def _profile(row: Row[Any]) -> Profile:
    return _new_profile(row.customer_id, *(getattr(row, name) for name in _PROFILE_FIELDS))


def _packed_profile(customer_id: str, values: Sequence[Any]) -> Profile:
    """A `Profile` from `_gate_facts`' array of `_PROFILE_FIELDS`, whose timestamps are ISO text."""
    *fields, created_at, updated_at = values
    return _new_profile(customer_id, *fields, _json_timestamp(created_at), _json_timestamp(updated_at))


def _new_profile(
    customer_id: str,
    email: str | None,
    phone: str | None,
    push_tokens: Sequence[str],
    timezone: str | None,
    locale: str | None,
    email_opt_in: Any,
    sms_opt_in: Any,
    push_opt_in: Any,
    traits: Mapping[str, Any],
    created_at: datetime,
    updated_at: datetime,
) -> Profile:
    """A `Profile` from its stored columns (opt-ins as the database gives booleans: 0/1 on SQLite)."""
    return Profile(
        customer_id=customer_id,
        email=email,
        phone=phone,
        push_tokens=tuple(push_tokens),
        timezone=timezone,
        locale=locale,
        consent={"email": bool(email_opt_in), "sms": bool(sms_opt_in), "push": bool(push_opt_in)},
        traits=dict(traits),
        created_at=created_at,
        updated_at=updated_at,
    )


def _json_timestamp(text: str) -> datetime:
    """A timestamp as JSON carries it: SQLite's stored UTC text (no offset), or PostgreSQL's ISO form with its offset."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _event_values(row: EventRow) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "customer_id": row.customer_id,
        "name": row.name,
        "properties": dict(row.properties) if isinstance(row.properties, Mapping) else row.properties,
        "timestamp": utc(row.timestamp, "timestamp"),
        "received_at": utc(row.received_at, "received_at"),
    }


def _journey(ir: str) -> Journey:
    return Journey.from_dict(json.loads(ir))


def _enrollment(row: Row[Any]) -> Enrollment:
    return Enrollment(
        enrollment_id=row.enrollment_id,
        journey_id=row.journey_id,
        version=row.version,
        customer_id=row.customer_id,
        status=row.status,
        current_step=row.current_step,
        entered_at=row.entered_at,
        ended_at=row.ended_at,
    )


def _delivery_key(enrollment_id: str, step_id: str, visit: int) -> Any:
    return (deliveries.c.enrollment_id == enrollment_id) & (deliveries.c.step_id == step_id) & (deliveries.c.visit == visit)


# Statements of the send path: built once with bound parameters and run as `Prepared` statements
# (orchestrator/store/prepared.py), compiled once per database and run on the driver's cursor. Through
# `Connection.execute` each cost about 65 us of Python more (bench/send_path.py). INSERT and UPDATE
# take their columns from the parameters.
_DELIVERY_BY_KEY = (
    (deliveries.c.enrollment_id == bindparam("key_enrollment_id"))
    & (deliveries.c.step_id == bindparam("key_step_id"))
    & (deliveries.c.visit == bindparam("key_visit"))
)
_SELECT_DELIVERY = Prepared(select(deliveries).where(_DELIVERY_BY_KEY))
_DELIVERY_OUTCOME = Prepared(select(deliveries.c.status, deliveries.c.reason).where(_DELIVERY_BY_KEY))
_UPDATE_UNDECIDED = Prepared(update(deliveries).where(_DELIVERY_BY_KEY & (deliveries.c.status == "intent")))
_CLAIM = {
    dialect: Prepared(insert(deliveries).on_conflict_do_nothing())
    for dialect, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
"""The ledger claim, INSERT ... ON CONFLICT DO NOTHING: the driver's row count says whether it inserted."""
_ADMITTED_MARKETING = (
    (deliveries.c.admitted_at >= bindparam("sends_since"))
    & (deliveries.c.category == "marketing")
    # Not `status.not_in(...)`: an IN list is expanded into the SQL text at every execution, which
    # `Prepared` refuses; `status` is NOT NULL, so the two comparisons select the same rows.
    & (deliveries.c.status != "suppressed")
    & (deliveries.c.status != "failed")
)
"""Deliveries that hold a slot under the frequency caps, whoever they were sent to."""
_SELECT_PROFILE = Prepared(select(profiles_table).where(profiles_table.c.customer_id == bindparam("profile_customer_id")))


def _gate_facts(dialect: str) -> Prepared:
    """`StoreSession.gate_facts`' statement: the profile's columns as one JSON array, the sends as another.

    The same JSON on both databases, by each one's functions: a JSON column goes in as JSON (SQLite
    keeps it as text, so `json()` marks it), booleans come out as 0/1 or true/false, timestamps as
    ISO text (SQLite's "2026-03-02 12:00:00.000000" in UTC, PostgreSQL's with its offset).
    """
    sqlite_ = dialect == "sqlite"
    array = func.json_array if sqlite_ else func.json_build_array

    def as_json(column: Any) -> Any:
        return func.json(column) if sqlite_ else column

    p = profiles_table.c
    pairs = array(deliveries.c.journey_id, deliveries.c.admitted_at)
    sends = select(func.json_group_array(pairs, type_=JSON) if sqlite_ else func.json_agg(pairs, type_=JSON)).where(
        (deliveries.c.customer_id == p.customer_id) & _ADMITTED_MARKETING & ~_DELIVERY_BY_KEY
    )
    columns = [as_json(p[name]) if isinstance(p[name].type, JSON) else p[name] for name in _PROFILE_FIELDS]
    profile = array(*columns, type_=JSON)
    return Prepared(
        select(profile.label("profile"), sends.scalar_subquery().label("sends")).where(p.customer_id == bindparam("facts_customer_id"))
    )


_GATE_FACTS = {dialect: _gate_facts(dialect) for dialect in ("sqlite", "postgresql")}
_INSERT_OUTBOX = Prepared(outbox_messages.insert())
_ENROLLMENTS = (
    select(enrollments)
    .where(enrollments.c.customer_id == bindparam("enrollment_customer_id"))
    .order_by(enrollments.c.entered_at, enrollments.c.enrollment_id)
)
_RUNNING_ENROLLMENTS = _ENROLLMENTS.where(enrollments.c.status == "running")
_START_ENROLLMENT = {
    "sqlite": sqlite.insert(enrollments).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(enrollments).on_conflict_do_nothing(),
}


def _take_lease(insert: Callable[[Table], Any]) -> Any:
    """Insert the customer's lock row with the lease, or take the lease over if it is free, ours, or expired."""
    statement = insert(customer_locks).values(
        customer_id=bindparam("lease_customer"), holder=bindparam("lease_holder"), held_until=bindparam("lease_until")
    )
    free = (
        customer_locks.c.holder.is_(None)
        | (customer_locks.c.holder == bindparam("lease_holder"))
        | (customer_locks.c.held_until < bindparam("lease_now"))
    )
    lease = {"holder": statement.excluded.holder, "held_until": statement.excluded.held_until}
    taken = statement.on_conflict_do_update(index_elements=[customer_locks.c.customer_id], set_=lease, where=free)
    return taken.returning(customer_locks.c.customer_id)


_TAKE_LEASE = {"sqlite": _take_lease(sqlite.insert), "postgresql": _take_lease(postgresql.insert)}
_LEASED_UNTIL = Prepared(
    select(customer_locks.c.held_until).where(
        customer_locks.c.customer_id == bindparam("lease_customer"), customer_locks.c.holder.is_not(None)
    )
)
"""Asked by every customer-locked session on SQLite; almost always no lease is held."""
_LOCK_CUSTOMER = Prepared(
    postgresql.insert(customer_locks)
    .values(customer_id=bindparam("lock_customer_id"))
    .on_conflict_do_update(
        index_elements=[customer_locks.c.customer_id],
        set_={"holder": customer_locks.c.holder},
        # PostgreSQL locks the row it finds even when this is false, and then returns nothing: a row
        # without a lease holder is locked without writing a new version of it.
        where=customer_locks.c.holder.is_not(None),
    )
    .returning(customer_locks.c.held_until)
)
"""PostgreSQL: lock the customer's row, inserting it on first use; returns it if it is new or has a lease holder."""
_RELEASE_LEASES = (
    update(customer_locks)
    .where(
        customer_locks.c.customer_id.in_(bindparam("lease_customers", expanding=True)),
        customer_locks.c.holder == bindparam("lease_holder"),
    )
    .values(holder=None, held_until=None)
)


def _key_params(enrollment_id: str, step_id: str, visit: int) -> dict[str, Any]:
    """The parameters of `_DELIVERY_BY_KEY`."""
    return {"key_enrollment_id": enrollment_id, "key_step_id": step_id, "key_visit": visit}


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        enrollment_id=row.enrollment_id,
        step_id=row.step_id,
        visit=row.visit,
        channel=row.channel,
        status=row.status,
        provider_message_id=row.provider_message_id,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer_id=row.customer_id,
        journey_id=row.journey_id,
        category=row.category,
        admitted_at=row.admitted_at,
        provider_status=row.provider_status,
        provider_status_at=row.provider_status_at,
    )
