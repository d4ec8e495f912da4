"""The delivery ledger: at most one delivery per (enrollment, step, visit), and what became of it.

A send claims its row before the provider call (`intent`, or already `suppressed` by the
delivery gate) and records the outcome after it (`sent`, `failed`); the first outcome stands, so
a retried activity finds what an earlier attempt decided instead of sending again
(docs/delivery.md). Provider webhooks find their delivery here and record how far it got.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orchestrator.store.prepared import Prepared
from orchestrator.store.queries import Queries
from orchestrator.store.schema import deliveries, utc
from orchestrator.store.values import DELIVERY_OUTCOMES, Delivery, DeliveryKey


class LedgerQueries(Queries):
    """The `deliveries` table: claimed, admitted, held and decided by the send activity; updated by webhooks."""

    def claim_delivery(
        self,
        key: DeliveryKey,
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
        """Claim the one delivery of `key`: the row, and whether this call wrote it (else a previous attempt did).

        The caller sends only when the row's status is `intent`; anything else means an earlier
        attempt already decided, and a retry must report that outcome instead of sending. A new row
        can carry the delivery gate's outcome from the start (`status` suppressed with its `reason`,
        or `intent` with `admitted_at` or a deferral `reason`), so a first attempt writes its row
        once; a row that already existed is returned unchanged, and the caller decides it.
        """
        if status not in ("intent", "suppressed"):
            raise ValueError(f"a delivery is claimed as intent or suppressed, not {status!r}")
        at = utc(at, "at")
        values = {
            "enrollment_id": key.enrollment_id,
            "step_id": key.step_id,
            "visit": key.visit,
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
            "message_ref": key.reference(),
        }
        if _CLAIM[self._dialect].run(self._conn, values):  # 0 rows: an earlier attempt claimed it
            del values["message_ref"]
            return Delivery(**values), True
        return _delivery(_SELECT_DELIVERY.first(self._conn, key_params(key))), False

    def delivery_outcome(self, key: DeliveryKey) -> tuple[str, str | None] | None:
        """(status, reason) of the ledger row of `key`, if one was claimed; reads only.

        What a send reads when its outcome was not written (another attempt decided the row first, or
        none was claimed): the two columns it needs, not the whole row.
        """
        row = _DELIVERY_OUTCOME.first(self._conn, key_params(key))
        return (row.status, row.reason) if row is not None else None

    def mark_delivery(
        self, key: DeliveryKey, status: str, at: datetime, *, provider_message_id: str | None = None, reason: str | None = None
    ) -> bool:
        """Record the outcome of a claimed delivery; True if this call decided it.

        The first outcome stands: marking a decided row again changes nothing and returns False.
        """
        if status not in DELIVERY_OUTCOMES:
            raise ValueError(f"{status!r} is not a delivery outcome; use one of {sorted(DELIVERY_OUTCOMES)}")
        at = utc(at, "at")
        values = {"status": status, "provider_message_id": provider_message_id, "reason": reason, "updated_at": at}
        changed = _UPDATE_UNDECIDED.run(self._conn, {**values, **key_params(key)})
        if not changed and self.delivery_outcome(key) is None:
            raise LookupError(
                f"no delivery claimed for enrollment {key.enrollment_id} step {key.step_id} visit {key.visit}; claim_delivery first"
            )
        return bool(changed)

    def admit_delivery(self, key: DeliveryKey, *, channel: str, category: str, admitted_at: datetime, at: datetime) -> None:
        """The delivery gate let a claimed (`intent`) delivery go on `channel`: it counts towards caps from `admitted_at`."""
        values = {"channel": channel, "category": category, "admitted_at": utc(admitted_at, "admitted_at"), "updated_at": utc(at, "at")}
        _UPDATE_UNDECIDED.run(self._conn, {**values, **key_params(key)})

    def note_delivery(self, key: DeliveryKey, reason: str, at: datetime) -> None:
        """Say why a claimed delivery is still undecided (held by quiet hours, until when); decided rows are left alone."""
        values = {"reason": reason, "updated_at": utc(at, "at")}
        _UPDATE_UNDECIDED.run(self._conn, {**values, **key_params(key)})

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

    def set_provider_status(self, key: DeliveryKey, status: str, at: datetime, *, unless: Callable[[str | None], bool]) -> bool:
        """Record the provider's latest state of a delivery, unless `unless(current)` says the current one is further along.

        The row is read FOR UPDATE, so two webhooks about one message decide one after the other.
        """
        current = self._conn.execute(_PROVIDER_STATUS_FOR_UPDATE, key_params(key)).first()
        if current is None or unless(current.provider_status):
            return False
        values = {"provider_status": status, "provider_status_at": utc(at, "at")}
        self._conn.execute(update(deliveries).where(DELIVERY_BY_KEY).values(values), key_params(key))
        return True


def key_params(key: DeliveryKey) -> dict[str, Any]:
    """The parameters of `DELIVERY_BY_KEY`."""
    return {"key_enrollment_id": key.enrollment_id, "key_step_id": key.step_id, "key_visit": key.visit}


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


# Statements of the send path: built once with bound parameters and run as `Prepared` statements
# (orchestrator/store/prepared.py), compiled once per database and run on the driver's cursor, which
# spares them most of the Python `Connection.execute` spends on each. INSERT and UPDATE
# take their columns from the parameters.
DELIVERY_BY_KEY = (
    (deliveries.c.enrollment_id == bindparam("key_enrollment_id"))
    & (deliveries.c.step_id == bindparam("key_step_id"))
    & (deliveries.c.visit == bindparam("key_visit"))
)
"""The one row of a delivery key, with the parameters `key_params` gives."""
_SELECT_DELIVERY = Prepared(select(deliveries).where(DELIVERY_BY_KEY))
_DELIVERY_OUTCOME = Prepared(select(deliveries.c.status, deliveries.c.reason).where(DELIVERY_BY_KEY))
_UPDATE_UNDECIDED = Prepared(update(deliveries).where(DELIVERY_BY_KEY & (deliveries.c.status == "intent")))
_CLAIM = {
    dialect: Prepared(insert(deliveries).on_conflict_do_nothing())
    for dialect, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
"""The ledger claim, INSERT ... ON CONFLICT DO NOTHING: the driver's row count says whether it inserted."""
_PROVIDER_STATUS_FOR_UPDATE = select(deliveries.c.provider_status).where(DELIVERY_BY_KEY).with_for_update()
