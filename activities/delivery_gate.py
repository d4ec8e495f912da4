"""The one gate every send passes: consent, address, quiet hours and the frequency cap.

A pure function of the customer, the journey's settings, the moment and the
journey's recent sends, so it is tested without a store or a clock. The send
activity asks it before rendering; the answer says what to do and why.

Rules (docs/language.md, `settings` and `send`):
- consent: the customer must not have opted out of the channel (SMS needs an
  explicit opt-in); this applies to every category;
- address: the profile must have an address for the channel;
- quiet hours (marketing only): a message due inside the customer's local
  window is held until the window ends;
- frequency cap (marketing only): a message over the cap is skipped, not held;
  transactional messages neither wait for it nor count towards it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from activities.messages import Undeliverable, address
from orchestrator import ir
from orchestrator.runtime.clock import customer_zone, quiet_hours_end
from orchestrator.timeparse import format_duration


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "suppress", "defer"]
    reason: str | None = None
    retry_at: datetime | None = None
    """With `defer`: when the message may go (the end of quiet hours)."""


SEND = Decision("send")


def settings_from_json(data: dict[str, Any] | None) -> ir.Settings:
    """The journey's settings from their IR JSON (as carried by a SendRequest)."""
    data = data or {}
    quiet = data.get("quiet_hours")
    cap = data.get("frequency_cap")
    return ir.Settings(
        timezone=data.get("timezone") or "UTC",
        quiet_hours=ir.QuietHours(quiet["start"], quiet["end"]) if quiet else None,
        frequency_cap=ir.FrequencyCap(cap["max"], cap["per_seconds"]) if cap else None,
    )


def decide(
    *,
    channel: str,
    category: str,
    customer: dict[str, Any],
    settings: ir.Settings,
    now: datetime,
    recent_sends: Sequence[datetime],
) -> Decision:
    """Whether a message of `channel`/`category` may go to `customer` at `now`.

    `recent_sends` are the times of marketing messages this journey already sent the
    customer (any enrollment); only those within the cap's window count.
    """
    if not customer.get(f"{channel}_opt_in", False):
        return Decision("suppress", f"no consent: the customer has not opted in to {channel}")
    try:
        address(channel, customer)
    except Undeliverable as exc:
        return Decision("suppress", str(exc))
    if category == "transactional":
        return SEND
    quiet = settings.quiet_hours
    if quiet is not None:
        zone = customer_zone(customer.get("timezone"), settings.timezone)
        ends = quiet_hours_end(now, zone, quiet.start, quiet.end)
        if ends is not None:
            return Decision("defer", f"quiet hours {quiet.start}-{quiet.end} ({zone.key})", ends)
    cap = settings.frequency_cap
    if cap is not None:
        since = now - timedelta(seconds=cap.per_seconds)
        count = sum(since < sent <= now for sent in recent_sends)
        if count >= cap.max:
            window = format_duration(cap.per_seconds)
            return Decision("suppress", f"frequency cap: {count} message(s) from this journey in the last {window}")
    return SEND
