"""Benchmark: `journey backtest` of a 30-day window over 1,000,000 recorded events of 100,000 customers.

Target (issue 24, item 6): at most 60 s on the 2-core machine, with the ratio to the floor of the same run.

The history is generated into a SQLite store in a temporary folder, written in bulk in the rows routing
writes for each call (the events table; for an identify also its profile change and consent records, in the
form `StoreSession.identify` records them, checked at start), seeded, so every run replays the same:

- every customer is identified once at the start (e-mail, country, first name; a third with a phone and
  SMS consent, a third with a push token), and a fifth a second time later (a plan change);
- their tracked events are spread over the 30 days: page views, `checkout_started` (half the customers,
  some twice, carts of 5 to 200), `email_opened` (a third of those, within two days), `order_completed`
  (a quarter, within a week), `unsubscribed` (one in a hundred); 1,000,000 calls in all, identify rows included.

Timed, alternating, `--rounds` times:
  floor    - reading what the backtest reads, without replaying: the window's events ordered by customer, and
             every customer's profile history and consent records (`events_between`, `profile_timelines`,
             `consent_records_of` by chunks), building the rows' values;
  backtest - `orchestrator.simulation.backtest_run.backtest` of journeys/abandoned_cart.yaml (a wait, a send,
             a wait_for, a branch, two sends; quiet hours and a frequency cap) over the same window.
Prints each time, the best of each, the ratio backtest/floor, and the backtest's headline counts.

    python bench/backtest.py [--customers 100000] [--events 1000000] [--rounds 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator.compiler import compile_file  # noqa: E402
from orchestrator.simulation.backtest_history import Window  # noqa: E402
from orchestrator.simulation.backtest_run import backtest  # noqa: E402
from orchestrator.simulation.recorded_profile import RecordedProfile  # noqa: E402
from orchestrator.store import EventRow, Store  # noqa: E402
from orchestrator.store.history_reads import CHUNK_CUSTOMERS  # noqa: E402
from orchestrator.store.schema import consent_records, profile_changes  # noqa: E402
from orchestrator.store.schema import events as events_table  # noqa: E402

START = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 30
TARGET_SECONDS = 60.0
TRANSACTION = 2000
"""Customers written per store transaction while generating."""


def generate(store: Store, customers: int, events: int, seed: int = 24) -> int:
    """Write the history; returns the number of calls recorded (identify rows included).

    Straight into the tables routing writes (events, profile_changes, consent_records), with one executemany per
    table and batch: an identify through `StoreSession.identify` costs milliseconds (profile, suppressions, consent,
    history), which would make generating 100,000 customers take minutes. `check_generated_form` holds the rows to
    what the identify path records.
    """
    rng = random.Random(seed)
    per_customer = events / customers
    written = 0
    for first in range(0, customers, TRANSACTION):
        batch = _Batch()
        for n in range(first, min(first + TRANSACTION, customers)):
            written += _customer(rng, n, per_customer, batch)
        with store.engine.begin() as connection:
            connection.execute(events_table.insert(), batch.events)
            connection.execute(profile_changes.insert(), batch.changes)
            if batch.consent:
                connection.execute(consent_records.insert(), batch.consent)
    return written


class _Batch:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []
        self.consent: list[dict[str, Any]] = []

    def identify(self, customer: str, message_id: str, traits: dict[str, Any], at: datetime) -> None:
        """What an identify call records: its event row, its profile change (consent left out), its consent records."""
        self.events.append(_event(customer, message_id, "identify", traits, at))
        changes = {key: value for key, value in traits.items() if not key.endswith("_opt_in")}
        self.changes.append({"customer_id": customer, "changed_at": at, "source": "identify", "changes": changes})
        for key, value in traits.items():
            if key.endswith("_opt_in"):
                channel = key.removesuffix("_opt_in")
                self.consent.append({"customer_id": customer, "channel": channel, "opted_in": value, "source": "identify",
                                     "evidence": message_id, "detail": None, "occurred_at": at, "recorded_at": at})


def _event(customer: str, message_id: str, name: str, properties: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"message_id": message_id, "customer_id": customer, "name": name, "properties": properties, "timestamp": at, "received_at": at}


def _customer(rng: random.Random, n: int, per_customer: float, batch: _Batch) -> int:
    customer = f"customer-{n:06d}"
    joined = START + timedelta(seconds=rng.randrange(3 * 86400))
    traits: dict[str, Any] = {"email": f"{customer}@example.com", "country": rng.choice(["US", "US", "CA", "GB"]), "first_name": "Sam"}
    if n % 3 == 0:
        traits |= {"phone": f"+1415555{n % 10000:04d}", "sms_opt_in": True}
    elif n % 3 == 1:
        traits["push_tokens"] = [f"token-{n}"]
    calls = [(joined, "identify", traits)]
    if n % 5 == 0:
        calls.append((joined + timedelta(days=rng.randrange(1, DAYS - 3)), "identify", {"plan": "pro"}))
    budget = max(1, round(rng.gauss(per_customer, 2))) - len(calls)
    moments = sorted(joined + timedelta(seconds=rng.randrange((DAYS - 3) * 86400)) for _ in range(max(0, budget)))
    names = ["page_viewed"] * len(moments)
    if n % 2 == 0 and moments:
        names[len(moments) // 2] = "checkout_started"
        if n % 6 == 0 and len(moments) > 3:
            names[-2] = "checkout_started"
    tracked = []
    for at, name in zip(moments, names, strict=True):
        if name == "checkout_started":
            tracked.append((at, name, {"cart_value": rng.randrange(5, 200), "cart_url": f"https://shop.example/cart/{n}"}))
            if rng.random() < 0.33:
                tracked.append((at + timedelta(hours=rng.randrange(2, 40)), "email_opened", {}))
            if rng.random() < 0.25:
                tracked.append((at + timedelta(hours=rng.randrange(3, 160)), "order_completed", {"revenue": rng.randrange(20, 300)}))
        else:
            tracked.append((at, name, {"path": f"/products/{rng.randrange(500)}"}))
    if n % 100 == 0:
        tracked.append((joined + timedelta(days=rng.randrange(1, DAYS - 3)), "unsubscribed", {}))
    for number, (at, name, properties) in enumerate(sorted(calls + tracked, key=lambda call: call[0])):
        if name == "identify":
            batch.identify(customer, f"{customer}-{number}", properties, at)
        else:
            batch.events.append(_event(customer, f"{customer}-{number}", name, properties, at))
    return len(calls) + len(tracked)


def check_generated_form(folder: Path) -> None:
    """The generator's rows rebuild the profile the identify path would have: the same profile at every instant."""
    at = START + timedelta(hours=1)
    traits = {"email": "ann@example.com", "country": "US", "phone": "+14155550100", "sms_opt_in": True, "push_tokens": ["t"]}
    profiles = []
    for how in ("identify", "generated"):
        store = Store(f"sqlite:///{folder / f'{how}.db'}")
        store.migrate()
        if how == "identify":
            with store.session() as session:
                session.identify("ann", traits, at)
        else:
            batch = _Batch()
            batch.identify("ann", "ann-0", traits, at)
            with store.engine.begin() as connection:
                connection.execute(profile_changes.insert(), batch.changes)
                connection.execute(consent_records.insert(), batch.consent)
        with store.read() as session:
            profiles.append(RecordedProfile.read(session, "ann").profile_as_of(at + timedelta(days=1)))
        store.dispose()
    assert profiles[0] == profiles[1], profiles


def floor(store: Store, window: Window) -> tuple[int, int]:
    """Read what the backtest reads (events of the window by customer, profile histories, consent): (events, customers)."""
    events = customers = 0
    with store.read() as session:
        for chunk in _chunks(groupby(session.events_between(window.start, window.end), lambda row: row.customer_id), CHUNK_CUSTOMERS):
            ids = [customer for customer, _ in chunk]
            events += sum(len(rows) for _, rows in chunk)
            customers += len(ids)
            for _ in session.profile_timelines(ids, until=window.end):
                pass
            session.consent_records_of(ids, window.end)
    return events, customers


def _chunks(groups: object, size: int) -> list[list[tuple[str, list[EventRow]]]]:
    chunk: list[tuple[str, list[EventRow]]] = []
    for customer, rows in groups:  # type: ignore[attr-defined]
        chunk.append((customer, list(rows)))
        if len(chunk) == size:
            yield chunk  # type: ignore[misc]
            chunk = []
    if chunk:
        yield chunk  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="Profile one backtest round and print where the time goes.")
    args = parser.parse_args()
    journey = compile_file(ROOT / "journeys" / "abandoned_cart.yaml").journey
    assert journey is not None
    window = Window(START, START + timedelta(days=DAYS))
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as folder:
        check_generated_form(Path(folder))
        store = Store(f"sqlite:///{Path(folder) / 'journey.db'}")
        store.migrate()
        began = time.perf_counter()
        written = generate(store, args.customers, args.events)
        print(f"generated {written:,} calls of {args.customers:,} customers in {time.perf_counter() - began:.1f} s", flush=True)
        floors, backtests = [], []
        report = None
        for round_ in range(1, args.rounds + 1):
            began = time.perf_counter()
            events, customers = floor(store, window)
            floors.append(time.perf_counter() - began)
            began = time.perf_counter()
            [report] = backtest(store, [journey], window)
            backtests.append(time.perf_counter() - began)
            print(f"round {round_}: floor {floors[-1]:.1f} s ({events:,} events, {customers:,} customers), backtest {backtests[-1]:.1f} s",
                  flush=True)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            backtest(store, [journey], window)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        store.dispose()
    assert report is not None
    best_floor, best = min(floors), min(backtests)
    totals = report.totals
    print(f"backtest: entered {totals.entered:,} ({totals.customers:,} customers), refused {report.refusals:,}, "
          f"messages sent {report.sent:,}, converted {totals.converted:,}")
    print(f"best floor {best_floor:.1f} s, best backtest {best:.1f} s, ratio backtest/floor {best / best_floor:.1f}; "
          f"target <= {TARGET_SECONDS:.0f} s: {'met' if best <= TARGET_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
