"""Phone numbers that texted STOP: an opt-out belongs to the number, whoever has it now (docs/delivery.md, "STOP")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from orchestrator.store.schema import number_opt_outs, utc
from orchestrator.store.suppressions import SuppressionQueries


class NumberOptOutQueries(SuppressionQueries):
    """The `number_opt_outs` table: written by the Twilio inbound webhook, read when a profile gets a number."""

    def stop_number(self, phone: str, keyword: str, at: datetime) -> None:
        """Record that `phone` (E.164) opted out of SMS; the first record stands until `start_number`."""
        values = {"phone": phone, "keyword": keyword, "opted_out_at": utc(at, "at")}
        self._conn.execute(self._insert(number_opt_outs).values(values).on_conflict_do_nothing())

    def start_number(self, phone: str) -> None:
        """`phone` opted back in (START, YES, UNSTOP): a STOP kept for it by an erasure is lifted too."""
        self._conn.execute(delete(number_opt_outs).where(number_opt_outs.c.phone == phone))
        self.lift_suppressed_stop(phone)

    def number_opt_out(self, phone: str) -> tuple[str, datetime] | None:
        """(keyword, when) of `phone`'s opt-out, if it is opted out."""
        query = select(number_opt_outs.c.keyword, number_opt_outs.c.opted_out_at).where(number_opt_outs.c.phone == phone)
        row = self._conn.execute(query).first()
        return (row.keyword, row.opted_out_at) if row is not None else None
