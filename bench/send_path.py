"""Messages per second through the whole send path, against raw SDK calls to the same fake provider.

Full path: `JourneyActivities.send_message` as the worker's activity threads run
it: ledger claim, profile read, delivery gate (consent, address, frequency-cap
lookup), rendering, the ledger re-read, the SendGrid SDK call with the token
bucket, then the outbox row and `sent` in one transaction (SQLite store in a
temporary folder). Floor: the same SDK (`SendGridAPIClient`) posting prebuilt
mail bodies to the same local fake, on the same number of threads. The ratio
full/floor is the share of provider throughput the send path keeps (target >= 0.7).

Run: .venv/bin/python bench/send_path.py [--messages 600 --threads 8 --rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.journey_activities import JourneyActivities
from activities.messages import Message
from activities.providers import ChannelProviders
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


def full_path(fake: FakeProviders, messages: int, threads: int, run: int) -> float:
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
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(activities.send_message, requests))
        elapsed = time.perf_counter() - started
        store.dispose()
    assert all(r.status == "sent" for r in results), {r.status for r in results}
    return messages / elapsed


def raw_sdk(fake: FakeProviders, messages: int, threads: int) -> float:
    email = SendGridEmail(SendGridSettings("SG.bench", "news@shop.example", host=fake.url), bucket=TokenBucket(1e9))
    body = email.mail(Message("email", "c-0@example.com", "Ann, you left something behind", "<p>Hello Ann</p>"), "k", "c-0@example.com")
    bodies = [body.get() for _ in range(messages)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda b: email.client.client.mail.send.post(request_body=b, timeout=10), bodies))
    return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best_full = best_raw = 0.0
    with FakeProviders() as fake:
        raw_sdk(fake, 50, args.threads)  # warm up
        for run in range(args.rounds):
            raw = raw_sdk(fake, args.messages, args.threads)
            full = full_path(fake, args.messages, args.threads, run)
            best_raw, best_full = max(best_raw, raw), max(best_full, full)
            print(f"round {run + 1}: raw SDK {raw:7.0f} msg/s   full send path {full:7.0f} msg/s   ratio {full / raw:.2f}")
        sent = len(fake.sent(SENDGRID))
    print(f"best: raw SDK {best_raw:.0f} msg/s, full send path {best_full:.0f} msg/s, ratio {best_full / best_raw:.2f} (target >= 0.7)")
    print(f"requests the fake received: {sent}")


if __name__ == "__main__":
    main()
