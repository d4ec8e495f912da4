"""What the delivery gate reads on every send, in one statement: the customer's profile and capped sends.

The gate (activities/delivery_gate.py) needs the profile and the customer's marketing deliveries
that count under the frequency caps. Each comes back as one JSON value, the profile an array of
its columns and the sends an array of pairs: SQLite's driver releases and takes back the GIL for
every step and for every column of every row it reads, and one statement of two JSON columns
reads far fewer than a statement for each would (bench/send_path.py measures the send path). On
PostgreSQL it is one round trip instead of two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, bindparam, func, select

from orchestrator.store.ledger import DELIVERY_BY_KEY, key_params
from orchestrator.store.prepared import Prepared
from orchestrator.store.profiles_table import PROFILE_COLUMNS, profile_from_columns
from orchestrator.store.queries import Queries
from orchestrator.store.schema import deliveries, utc
from orchestrator.store.schema import profiles as profiles_table
from orchestrator.store.values import DeliveryKey, Profile


class GateFactQueries(Queries):
    """The profile and the ledger as the delivery gate sees them."""

    def gate_facts(self, customer_id: str, since: datetime, *, exclude: DeliveryKey) -> tuple[Profile | None, list[tuple[str, datetime]]]:
        """`get_profile(customer_id)`, and the (journey id, admitted_at) of the customer's deliveries that count under the caps.

        Those are the marketing deliveries admitted since `since`, sent or in flight: suppressed and
        failed ones gave their slot back, and `exclude` is the delivery being decided (a retry of an
        admitted one must not count itself). No profile: (None, []), as the gate then needs no sends.
        """
        params = {"facts_customer_id": customer_id, "sends_since": utc(since, "since"), **key_params(exclude)}
        row = _GATE_FACTS[self._dialect].first(self._conn, params)
        if row is None:
            return None, []
        return _packed_profile(customer_id, row.profile), [(journey or "", _json_timestamp(at)) for journey, at in row.sends or ()]


def _packed_profile(customer_id: str, values: Sequence[Any]) -> Profile:
    """A `Profile` from the statement's array of `PROFILE_COLUMNS`, whose timestamps are ISO text."""
    *fields, created_at, updated_at = values
    return profile_from_columns(customer_id, *fields, _json_timestamp(created_at), _json_timestamp(updated_at))


def _json_timestamp(text: str) -> datetime:
    """A timestamp as JSON carries it: SQLite's stored UTC text (no offset), or PostgreSQL's ISO form with its offset."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


ADMITTED_MARKETING = (
    (deliveries.c.admitted_at >= bindparam("sends_since"))
    & (deliveries.c.category == "marketing")
    # Not `status.not_in(...)`: an IN list is expanded into the SQL text at every execution, which
    # `Prepared` refuses; `status` is NOT NULL, so the two comparisons select the same rows.
    & (deliveries.c.status != "suppressed")
    & (deliveries.c.status != "failed")
)
"""Deliveries that hold a slot under the frequency caps, whoever they were sent to."""


def _gate_facts(dialect: str) -> Prepared:
    """`GateFactQueries.gate_facts`' statement: the profile's columns as one JSON array, the sends as another.

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
        (deliveries.c.customer_id == p.customer_id) & ADMITTED_MARKETING & ~DELIVERY_BY_KEY
    )
    columns = [as_json(p[name]) if isinstance(p[name].type, JSON) else p[name] for name in PROFILE_COLUMNS]
    profile = array(*columns, type_=JSON)
    return Prepared(
        select(profile.label("profile"), sends.scalar_subquery().label("sends")).where(p.customer_id == bindparam("facts_customer_id"))
    )


_GATE_FACTS = {dialect: _gate_facts(dialect) for dialect in ("sqlite", "postgresql")}
