"""Journeys and helpers the routing tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from orchestrator import ir
from orchestrator.compiler import compile_text

JOURNEYS = Path(__file__).parents[2] / "journeys"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

CART = """
id: cart
name: Cart
trigger: {event: checkout_started, where: "event.cart_value >= 20"}
entry: {audience: "customer.country == 'US'", re_entry: never}
goal: {event: order_completed}
steps:
  - id: opened
    wait_for: {event: email_opened, within: 2d}
"""

VIP = """
id: vip
name: VIP
trigger: {segment: "customer.spend | default(0) >= 1000"}
entry: {re_entry: always}
steps:
  - id: hello
    send: {channel: email, subject: "Hi", body: "You are a VIP"}
"""


def compiled(text: str) -> ir.Journey:
    result = compile_text(text, file="inline.yaml", directory=JOURNEYS)
    assert result.journey is not None, result.diagnostics
    return result.journey
