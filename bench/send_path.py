"""Messages per second through the whole send path, against raw SDK calls to the same fake provider.

Full path: `JourneyActivities.send_message` as the worker's activity threads run
it: profile read, delivery gate (consent, address, frequency-cap lookup) and the
ledger claim with its outcome in one transaction, rendering, the SendGrid SDK
call with the token bucket, then the outbox row and `sent` in one transaction (SQLite store in a
temporary folder). Floor: the same SDK (`SendGridAPIClient`) posting prebuilt
mail bodies to the same local fake, on the same number of threads. The ratio
full/floor is the share of provider throughput the send path keeps (target >= 0.7).

The two sides take turns in chunks of `--chunk` messages on one thread pool (the order
alternating), and each round's ratio pairs the two sides' totals: on a shared machine,
load from elsewhere then weighs on both alike. The median and the best round's ratio are
reported. Each round has a fake of its own, on a new port: the SDK opens a connection per
request, and the tens of thousands of connections of earlier rounds, in TIME_WAIT on this
host, made the next rounds' connects slower and slower, which slows the raw side more in
proportion and lifted the later rounds' ratios (0.55-0.61 in the first rounds of a run,
0.72-0.73 in the third and fifth).

Last, the path's own work is timed on one thread with the provider replaced by a stub that
only builds SendGrid's request body: the steadiest figure for a change to the path, whose
effect on the ratio is often smaller than one run's noise (bench/RESULTS.md).

Run: .venv/bin/python bench/send_path.py [--messages 600 --threads 8 --rounds 5 --chunk 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.journey_activities import JourneyActivities
from activities.messages import Message
from activities.providers import ChannelProviders
from activities.providers.base import ProviderResult
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store
from tests.providers.fakes import SENDGRID, FakeProviders

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SETTINGS = {"timezone": "UTC", "quiet_hours": None, "frequency_cap": {"max": 3, "per_seconds": 86400}}


def request(i: int, customer: str) -> SendRequest:
    return SendRequest(
        enrollment_id=f"bench-{i}",
        journey_id="bench",
        version="v1",
        step_id="reminder",
        visit=1,
        customer_id=customer,
        channel="email",
        category="marketing",
        subject="{{ customer.first_name | default('Hi') }}, you left something behind",
        preheader=None,
        title=None,
        body="<p>Hello {{ customer.first_name }}, your cart of {{ event.cart_value }} is waiting: {{ event.cart_url }}</p>",
        url=None,
        event={"cart_value": 42, "cart_url": "https://shop.example/c/1"},
        now=NOW.isoformat(),
        settings=SETTINGS,
    )


@dataclass
class Round:
    """One round: the seconds each side spent on its `messages` sends."""

    raw_seconds: float = 0.0
    full_seconds: float = 0.0
    messages: int = 0

    @property
    def raw(self) -> float:
        return self.messages / self.raw_seconds

    @property
    def full(self) -> float:
        return self.messages / self.full_seconds


def run_round(fake: FakeProviders, messages: int, threads: int, chunk: int, run: int) -> Round:
    """`messages` sends each way, in alternating chunks, so both sides see the same machine load."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        store.migrate()
        customers = [f"c-{n}" for n in range(messages)]
        with store.session() as session:
            for customer in customers:
                session.identify(customer, {"email": f"{customer}@example.com", "first_name": "Ann", "email_opt_in": True}, NOW)
        email = SendGridEmail(SendGridSettings("SG.bench", "news@shop.example", host=fake.url), bucket=TokenBucket(1e9))
        activities = JourneyActivities(store, providers=ChannelProviders({"email": email}))
        requests = [request(run * messages + i, customers[i]) for i in range(messages)]
        floor = SendGridEmail(SendGridSettings("SG.bench", "news@shop.example", host=fake.url), bucket=TokenBucket(1e9))
        body = floor.mail(Message("email", "c-0@example.com", "Ann, you left something behind", "<p>Hello Ann</p>"), "k", "c-0@example.com")
        bodies = [body.get() for _ in range(messages)]

        def post(b: dict[str, Any]) -> Any:
            return floor.client.client.mail.send.post(request_body=b, timeout=10)

        result = Round(messages=messages)
        with ThreadPoolExecutor(threads) as pool:
            for number, first in enumerate(range(0, messages, chunk)):
                sides = [("raw", post, bodies), ("full", activities.send_message, requests)]
                for side, call, items in sides if number % 2 == 0 else reversed(sides):
                    started = time.perf_counter()
                    outcomes = list(pool.map(call, items[first : first + chunk]))
                    elapsed = time.perf_counter() - started
                    if side == "raw":
                        result.raw_seconds += elapsed
                    else:
                        result.full_seconds += elapsed
                        assert all(r.status == "sent" for r in outcomes), {r.status for r in outcomes}
        store.dispose()
    return result


class BodyOnly:
    """A provider that builds the SendGrid request body and returns: the send path without the HTTP call."""

    name = "body-only"

    def __init__(self, email: SendGridEmail) -> None:
        self.email = email

    def describe(self) -> str:
        return self.name

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        self.email.body(message, delivery_key, recipients[0] if recipients else message.to)
        return ProviderResult("body-only")


def own_cost(messages: int, rounds: int) -> float:
    """Seconds a send of the path's own work takes on one thread, provider stubbed (the best of `rounds`, after one warm-up)."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        store.migrate()
        customers = [f"c-{n}" for n in range(messages * (rounds + 1))]
        with store.session() as session:
            for customer in customers:
                session.identify(customer, {"email": f"{customer}@example.com", "first_name": "Ann", "email_opt_in": True}, NOW)
        email = SendGridEmail(SendGridSettings("SG.bench", "news@shop.example", host="http://127.0.0.1:9"), bucket=TokenBucket(1e9))
        activities = JourneyActivities(store, providers=ChannelProviders({"email": BodyOnly(email)}))
        requests = [request(n, customer) for n, customer in enumerate(customers)]
        best = float("inf")
        for run in range(rounds + 1):
            started = time.perf_counter()
            for item in requests[run * messages : (run + 1) * messages]:
                assert activities.send_message(item).status == "sent"
            if run:
                best = min(best, (time.perf_counter() - started) / messages)
        store.dispose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=200, help="messages per turn of each side (they alternate)")
    args = parser.parse_args()
    rounds: list[Round] = []
    sent = 0
    with FakeProviders() as fake:
        run_round(fake, 50, args.threads, 50, args.rounds)  # warm up
    for run in range(args.rounds):
        with FakeProviders() as fake:
            rounds.append(run_round(fake, args.messages, args.threads, args.chunk, run))
            sent += len(fake.sent(SENDGRID))
        r = rounds[-1]
        print(f"round {run + 1}: raw SDK {r.raw:5.0f} msg/s, full send path {r.full:5.0f} msg/s, ratio {r.full / r.raw:.2f}")
    best = max(rounds, key=lambda r: r.full / r.raw)
    raw, full = max(r.raw for r in rounds), max(r.full for r in rounds)
    print(f"median of the rounds' ratios: {statistics.median(r.full / r.raw for r in rounds):.2f} (target 0.7)")
    print(f"best round: raw SDK {best.raw:.0f} msg/s, full send path {best.full:.0f} msg/s, ratio {best.full / best.raw:.2f}")
    print(f"fastest of each side, unpaired: raw SDK {raw:.0f} msg/s, full send path {full:.0f} msg/s, ratio {full / raw:.2f}")
    print(f"requests the fake received: {sent}")
    print(f"the path's own work, one thread, provider stubbed: {own_cost(1000, 5) * 1e6:.0f} us a send (best of 5 rounds)")


if __name__ == "__main__":
    main()
