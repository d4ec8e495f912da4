"""Anonymous profiles, and their merge into a known customer (docs/api.md, "Anonymous visitors").

A call with an `anonymousId` and no `userId` is about an anonymous profile: an ordinary profile whose
customer id is `anonymous:<anonymousId>`. It holds traits and push tokens, is enrolled and messaged like
any other. No known customer can have such an id: the API refuses a `userId` beginning with the prefix.

A call carrying both ids (identify, track, alias) merges the anonymous profile into the known customer,
in the transaction that applies the call, under both customers' leases (orchestrator/routing/merge.py):
- the profile: every trait and field the known profile lacks is added (the known profile's values win); an
  address comes with its opt-in and the traits that stop sending to it; push tokens are joined. It is one
  change of the known profile (source `merge`), whose consent records cite the call, and the anonymous
  profile row goes;
- every row of `MOVED_TABLES` (events, consent records, enrollments, the delivery ledger, facts...) becomes
  the known customer's, so caps, re-entry rules and lookups count both as one customer;
- the anonymous profile's own history (`profile_changes`) stays under its id: the known profile's history is
  rebuilt from its own changes and the merge. Export and erasure read both;
- enrollments follow the customer; where both had one running in the same journey, the older continues and the
  younger ends `merged` (`younger_twins`: the router ends its workflow);
- one `identities` row records the merge: later calls with the anonymous id reach the known customer, and a
  second, different known customer for it is refused (`MergeConflict`). Merging it again changes nothing.

An enrollment started for the anonymous profile keeps that id in its workflow's input for good, so every
activity reads its customer through `current_customer`: the id a workflow was given, as it is now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from sqlalchemy import bindparam, delete, select, update

from orchestrator.language.traits import OPT_IN_TRAITS, SMS_STOP_TRAIT, UNDELIVERABLE_TRAITS
from orchestrator.store.events import EVENT_BATCH
from orchestrator.store.queries import Queries
from orchestrator.store.schema import (
    consent_records,
    deliveries,
    enrollment_problems,
    enrollment_summaries,
    enrollments,
    events,
    identities,
    journey_facts,
    outbox_messages,
    profiles,
    provider_events,
    utc,
)
from orchestrator.store.values import ConsentEvidence, Enrollment, EnrollmentEnd, JourneyFact, Profile, fact_key

if TYPE_CHECKING:
    from orchestrator.store import Store
    from orchestrator.store.session import StoreSession

ANONYMOUS_PREFIX: Final = "anonymous:"
"""Begins the customer id of every anonymous profile, and no other."""
MERGE_SOURCE: Final = "merge"
"""The source of the profile change and the consent records a merge writes (docs/privacy.md, "Consent records")."""
MERGED_STATUS: Final = "merged"
MERGED_REASON: Final = "the customer's anonymous and known profiles merged; their older enrollment in this journey continues"
MOVED_TABLES: Final = (
    consent_records, events, enrollment_problems, deliveries, provider_events, outbox_messages, journey_facts, enrollment_summaries,
    enrollments,
)  # fmt: skip
"""The tables whose rows of an anonymous profile become the known customer's when they merge."""
_CHANNEL_TRAITS: Final = {
    "email": ("email_opt_in", UNDELIVERABLE_TRAITS["email"]),
    "phone": ("sms_opt_in", UNDELIVERABLE_TRAITS["phone"], SMS_STOP_TRAIT),
}
"""An address, and the traits that say whether it may be sent to: they move together or not at all."""


def anonymous_customer_id(anonymous_id: str) -> str:
    """The customer id of the anonymous profile of `anonymous_id` (Segment's `anonymousId`)."""
    return ANONYMOUS_PREFIX + anonymous_id


def is_anonymous(customer_id: str) -> bool:
    return customer_id.startswith(ANONYMOUS_PREFIX)


@dataclass(frozen=True)
class Merge:
    """One anonymous profile merged into a known customer."""

    anonymous_id: str
    """The anonymous profile's customer id (`anonymous:<anonymousId>`)."""
    customer_id: str
    merged_at: datetime
    message_id: str
    """The call that merged them."""

    @property
    def visitor_id(self) -> str:
        """The `anonymousId` the calls carried."""
        return self.anonymous_id.removeprefix(ANONYMOUS_PREFIX)


class CustomerMerged(RuntimeError):
    """An anonymous profile merged into a known customer while an activity worked for it: retried, the activity works
    for the known customer (activities/current_customer.py)."""


class MergeConflict(ValueError):
    """The anonymous profile merged into another known customer before: nothing is changed."""

    def __init__(self, merge: Merge, requested: str) -> None:
        super().__init__(f"anonymousId {merge.visitor_id!r} belongs to another customer since {merge.merged_at.isoformat()}")
        self.merge = merge
        self.requested = requested


@dataclass(frozen=True)
class MergeOutcome:
    merge: Merge
    new: bool
    """False: merged before by a call with the same ids, nothing done now."""
    ended: list[Enrollment] = field(default_factory=list)
    """The younger of two running enrollments in one journey: ended `merged` in the store, their workflows to end."""


class IdentityQueries(Queries):
    """The `identities` table."""

    def current_customer(self, customer_id: str) -> str:
        """The customer `customer_id` is now: the known customer an anonymous profile merged into, else itself."""
        if not is_anonymous(customer_id):
            return customer_id
        found = self._conn.execute(select(identities.c.customer_id).where(identities.c.anonymous_id == customer_id)).scalar()
        return str(found) if found is not None else customer_id

    def current_customers(self, customer_ids: Collection[str]) -> dict[str, str]:
        """`current_customer` of each of `customer_ids`, in one read per EVENT_BATCH anonymous ones (a batch of sends)."""
        current = {customer_id: customer_id for customer_id in customer_ids}
        anonymous = [customer_id for customer_id in current if is_anonymous(customer_id)]
        for start in range(0, len(anonymous), EVENT_BATCH):
            rows = self._conn.execute(_CURRENT_CUSTOMERS, {"anonymous_ids": anonymous[start : start + EVENT_BATCH]})
            current.update((row.anonymous_id, row.customer_id) for row in rows)
        return current

    def refuse_if_merged(self, customer_id: str) -> None:
        """Raise CustomerMerged if `customer_id` is an anonymous profile that has merged (read under its lock, which a merge
        holds until it commits): what the caller was about to decide from its rows belongs to the known customer now."""
        if is_anonymous(customer_id) and self.current_customer(customer_id) != customer_id:
            raise CustomerMerged(f"{customer_id} merged into a known customer; retry")

    def merge_of(self, anonymous_id: str) -> Merge | None:
        """The merge of the anonymous profile `anonymous_id`, if it merged."""
        row = self._conn.execute(select(identities).where(identities.c.anonymous_id == anonymous_id)).first()
        return Merge(row.anonymous_id, row.customer_id, row.merged_at, row.message_id) if row is not None else None

    def merges_into(self, customer_id: str) -> list[Merge]:
        """The anonymous profiles merged into `customer_id`, oldest merge first."""
        query = select(identities).where(identities.c.customer_id == customer_id)
        query = query.order_by(identities.c.merged_at, identities.c.anonymous_id)
        return [Merge(row.anonymous_id, row.customer_id, row.merged_at, row.message_id) for row in self._conn.execute(query)]

    def move_customer_rows(self, anonymous_id: str, customer_id: str) -> None:
        """Make the anonymous profile's rows of every table of MOVED_TABLES the known customer's."""
        for table in MOVED_TABLES:
            self._conn.execute(update(table).where(table.c.customer_id == anonymous_id).values(customer_id=customer_id))

    def delete_profile(self, customer_id: str) -> None:
        """The merged anonymous profile's row (its history stays: module docstring)."""
        self._conn.execute(delete(profiles).where(profiles.c.customer_id == customer_id))

    def record_merge(self, merge: Merge) -> None:
        values = {"anonymous_id": merge.anonymous_id, "customer_id": merge.customer_id, "message_id": merge.message_id}
        self._conn.execute(identities.insert().values(merged_at=utc(merge.merged_at, "merged_at"), **values))


_CURRENT_CUSTOMERS = select(identities.c.anonymous_id, identities.c.customer_id).where(
    identities.c.anonymous_id.in_(bindparam("anonymous_ids", expanding=True))
)
"""Built once: every batch of anonymous events reads it, and building the query anew cost more than running it."""


class _ForCustomer(Protocol):
    customer_id: str


ForCustomer = TypeVar("ForCustomer", bound=_ForCustomer)


def as_current(store: Store, items: Sequence[ForCustomer]) -> list[ForCustomer]:
    """Each of `items` (a routing call, an activity's request: a dataclass with a `customer_id`) about the customer its id
    is now, in one read for them all; a known customer's id is never merged, so only anonymous ones cost a read."""
    anonymous = {item.customer_id for item in items if item.customer_id is not None and is_anonymous(item.customer_id)}
    if not anonymous:
        return list(items)
    with store.read() as session:
        now = session.current_customers(anonymous)
    return [dataclasses.replace(item, customer_id=now[item.customer_id]) if item.customer_id in now else item for item in items]  # type: ignore[type-var]


def merge_identity(session: StoreSession, anonymous_id: str, customer_id: str, message_id: str, at: datetime) -> MergeOutcome:
    """Merge the anonymous profile `anonymous_id` into `customer_id` in `session` (module docstring), unless it merged before.

    Raises MergeConflict, writing nothing, when it merged into another customer. The caller holds both customers'
    leases and ends the workflows of `MergeOutcome.ended`.
    """
    if not is_anonymous(anonymous_id) or is_anonymous(customer_id):
        raise ValueError(f"a merge takes an anonymous profile into a known customer, not {anonymous_id!r} into {customer_id!r}")
    at = utc(at, "at")
    earlier = session.merge_of(anonymous_id)
    if earlier is not None:
        if earlier.customer_id != customer_id:
            raise MergeConflict(earlier, customer_id)
        return MergeOutcome(earlier, new=False)
    ended = younger_twins(session.enrollments_for(anonymous_id, running_only=True), session.enrollments_for(customer_id, running_only=True))
    session.finish_enrollments([EnrollmentEnd(e.enrollment_id, MERGED_STATUS, None, at, MERGED_REASON) for e in ended])
    session.record_facts([_ended_fact(e, customer_id, at) for e in ended])
    session.move_customer_rows(anonymous_id, customer_id)
    anonymous = session.get_profile(anonymous_id)
    if anonymous is not None:
        changes = merged_changes(anonymous, session.get_profile(customer_id))
        session.identify(customer_id, changes, at, ConsentEvidence(MERGE_SOURCE, message_id, at))
        session.delete_profile(anonymous_id)
    merge = Merge(anonymous_id, customer_id, at, message_id)
    session.record_merge(merge)
    return MergeOutcome(merge, new=True, ended=ended)


def _ended_fact(enrollment: Enrollment, customer_id: str, at: datetime) -> JourneyFact:
    return JourneyFact(
        kind="ended", journey_id=enrollment.journey_id, version=enrollment.version, enrollment_id=enrollment.enrollment_id,
        customer_id=customer_id, fact_key=fact_key("ended"), occurred_at=at, status=MERGED_STATUS, detail=MERGED_REASON,
    )  # fmt: skip


def younger_twins(anonymous: Sequence[Enrollment], known: Sequence[Enrollment]) -> list[Enrollment]:
    """Of two running enrollments in one journey, one the anonymous profile's and one the known customer's, the younger
    (entered later; the id decides a tie): it ends, the older continues as the customer's only one there."""
    oldest_known: dict[str, Enrollment] = {}
    for enrollment in known:
        oldest_known.setdefault(enrollment.journey_id, enrollment)
    ended = []
    for enrollment in anonymous:
        twin = oldest_known.get(enrollment.journey_id)
        if twin is not None:
            ended.append(max(enrollment, twin, key=lambda e: (e.entered_at, e.enrollment_id)))
    return ended


def merged_changes(anonymous: Profile, known: Profile | None) -> dict[str, Any]:
    """What the anonymous profile adds to the known one, in identify's vocabulary: each trait and field the known
    profile lacks. An address comes with its opt-in and the traits that stop sending to it, or none of them comes
    (the known address's own must not be overwritten). Push tokens are joined; their opt-in comes with the anonymous
    ones only if the known profile had none."""
    known_traits = known.traits if known is not None else {}
    changes: dict[str, Any] = {}
    address_traits = {trait for traits in _CHANNEL_TRAITS.values() for trait in traits}
    for key, value in anonymous.traits.items():
        if key not in known_traits and key not in address_traits:
            changes[key] = value
    for name in ("timezone", "locale"):
        if getattr(anonymous, name) is not None and (known is None or getattr(known, name) is None):
            changes[name] = getattr(anonymous, name)
    for address, traits in _CHANNEL_TRAITS.items():
        if getattr(anonymous, address) is None or (known is not None and getattr(known, address) is not None):
            continue
        changes[address] = getattr(anonymous, address)
        for trait in traits:
            if trait in OPT_IN_TRAITS:
                changes[trait] = bool(anonymous.consent.get(OPT_IN_TRAITS[trait], False))
            elif trait in anonymous.traits:
                changes[trait] = anonymous.traits[trait]
    if anonymous.push_tokens:
        tokens = list(known.push_tokens) if known is not None else []
        changes["push_tokens"] = tokens + [token for token in anonymous.push_tokens if token not in tokens]
        if not tokens:
            changes["push_opt_in"] = bool(anonymous.consent.get("push", False))
    return changes
