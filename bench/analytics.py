"""Journey stats at scale: `journey_counts` for one journey with 1M enrollments and 10M facts, p50/p95 against 250 ms.

usage: .venv/bin/python bench/analytics.py [--enrollments 1000000] [--calls 50] [--postgres] [--facts-file PATH] [--keep]

Builds a journey (a welcome email, a wait, an A/B split with a 10% holdout, an offer per arm, a reminder, a
7-day goal) and the facts a million enrollments of it would record over 60 days: entered, reached per step,
rested, messages sent/held/suppressed, provider events (delivered, opened, clicked, bounced), goals with a
value, NPS answers, endings. The facts are generated once (seeded) into `--facts-file` and reused by later
runs; they are written through `StoreSession.record_facts` in bulk (50,000 a transaction) and folded by
`fold_facts` as a `journey prune` would fold a backlog (timed: facts/s). Then `journey_counts` is called
`--calls` times for the whole range and for the last 7 days, each call in its own session (the fold of what
arrived since included), and p50/p95 are printed against the target. `now` is the day after the last entry,
so the maturity boundary (the day whose 7-day windows close around `now`) lies inside both ranges.
"""

from __future__ import annotations

import argparse
import marshal
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from embedded_stack import open_store, scratch_dir

from orchestrator import ir
from orchestrator.store import JourneyFact, Store

TARGET_MS = 250.0
DAYS = 60
START = datetime(2026, 9, 1, tzinfo=UTC)
CHUNK = 50_000
"""Facts per write transaction (and per generated chunk)."""
FOLD_ROUND = 200_000
"""Facts folded per transaction."""
JOURNEY = ir.Journey(
    "bench_analytics", "Analytics bench", "v1", ir.EventTrigger("signed_up"), ir.Entry(), ir.Settings(),
    (
        ir.SendStep("welcome", "email", "pause"),
        ir.WaitStep("pause", 86400, "ab"),
        ir.SplitStep("ab", (ir.SplitPath("a", 1, "offer_a"), ir.SplitPath("b", 1, "offer_b")), holdout_weight=0.1),
        ir.SendStep("offer_a", "email", "later"),
        ir.SendStep("offer_b", "sms", "later"),
        ir.WaitStep("later", 3 * 86400, "reminder"),
        ir.SendStep("reminder", "email", "done"),
        ir.ExitStep("done"),
    ),
    "welcome", ("signed_up",), goal=ir.Goal("order_completed", None, 7 * 86400, 7 * 86400),
)  # fmt: skip
Row = tuple[str, int, int, str, int, str | None, int | None, str | None, str | None, str | None, float | None]
"""kind, enrollment, customer, fact_key, seconds after START, step, visit, name, status, detail, value."""


def enrollment_facts(rng: random.Random, n: int, customers: int) -> Iterator[Row]:
    """What one enrollment of JOURNEY records, about 10 facts."""
    customer = rng.randrange(customers)
    t = rng.randrange(DAYS * 86400)
    yield ("entered", n, customer, "entered", t, None, None, None, None, None, None)

    def send(step: str, channel: str, at: int) -> Iterator[Row]:
        yield ("reached", n, customer, f"reached:{step}", at, step, None, None, None, None, None)
        roll = rng.random()
        if roll < 0.03:
            yield ("message", n, customer, f"message:{step}:1:suppressed", at, step, 1, channel, "suppressed", "no_consent", None)
            return
        if roll < 0.08:
            yield ("message", n, customer, f"message:{step}:1:held", at, step, 1, channel, "held", "quiet_hours", None)
            at += 3600 * 8
        yield ("message", n, customer, f"message:{step}:1:sent", at, step, 1, channel, "sent", None, None)
        outcome = rng.random()
        if outcome < 0.02:
            yield ("provider", n, customer, f"provider:{step}:1:bounced", at + 5, step, 1, channel, "bounced", "bounce", None)
            return
        yield ("provider", n, customer, f"provider:{step}:1:delivered", at + 5, step, 1, channel, "delivered", "delivered", None)
        if channel == "email" and outcome < 0.25:
            yield ("provider", n, customer, f"provider:{step}:1:opened", at + 600, step, 1, channel, "opened", "open", None)

    yield from send("welcome", "email", t)
    yield ("rested", n, customer, "rested:pause:1", t + 1, "pause", 1, None, None, None, None)
    now = t + 86400
    arm = "holdout" if rng.random() < 0.1 else rng.choice(("a", "b"))
    yield ("reached", n, customer, "reached:ab", now, "ab", None, arm, None, None, None)
    converts = rng.random() < (0.12 if arm == "holdout" else 0.15 if arm == "a" else 0.18)
    goal_at = t + rng.randrange(7 * 86400)
    if converts:
        yield ("goal", n, customer, "goal", goal_at, None, None, "order_completed", None, None, round(rng.uniform(10, 200), 2))
    if rng.random() < 0.1:
        answer = float(rng.randrange(11))
        bucket = "promoter" if answer >= 9 else "passive" if answer >= 7 else "detractor"
        yield ("response", n, customer, "response:nps", t + rng.randrange(10 * 86400), None, None, "nps", bucket, None, answer)
    if arm == "holdout":
        yield ("rested", n, customer, "rested:ab:1", now, "ab", 1, None, None, None, None)
        yield ("ended", n, customer, "ended", t + 7 * 86400, "ab", None, None, "holdout", None, None)
        return
    yield from send("offer_a" if arm == "a" else "offer_b", "email" if arm == "a" else "sms", now)
    if converts and goal_at < now + 3 * 86400:
        yield ("ended", n, customer, "ended", goal_at, "later", None, None, "converted", None, None)
        return
    yield ("rested", n, customer, "rested:later:1", now + 1, "later", 1, None, None, None, None)
    if rng.random() < 0.2:
        yield from send("reminder", "email", now + 3 * 86400)
        yield ("ended", n, customer, "ended", now + 3 * 86400 + 1, "done", None, None, "completed", None, None)


def generate(path: Path, enrollments: int) -> None:
    """The facts, in chunks of CHUNK rows (marshal: fast to read back), in the order the enrollments entered."""
    rng = random.Random(22)
    started = time.perf_counter()
    chunk: list[Row] = []
    with path.open("wb") as out:
        for n in range(enrollments):
            chunk.extend(enrollment_facts(rng, n, int(enrollments * 0.9)))
            if len(chunk) >= CHUNK:
                marshal.dump(chunk, out)
                chunk = []
        if chunk:
            marshal.dump(chunk, out)
    print(f"generated {path} in {time.perf_counter() - started:.0f} s")


def chunks(path: Path) -> Iterator[list[Row]]:
    with path.open("rb") as data:
        while True:
            try:
                yield marshal.load(data)
            except EOFError:
                return


def fact(row: Row) -> JourneyFact:
    kind, n, customer, key, seconds, step, visit, name, status, detail, value = row
    return JourneyFact(
        kind, JOURNEY.id, JOURNEY.version, f"bench-{n}", f"customer-{customer}", key, START + timedelta(seconds=seconds),
        step, visit, name, status, detail, value,
    )  # fmt: skip


def load(store: Store, path: Path) -> int:
    with store.session() as session:
        session.deploy(JOURNEY, START)
    written, started = 0, time.perf_counter()
    for rows in chunks(path):
        with store.session() as session:
            session.record_facts([fact(row) for row in rows], now=START)
        written += len(rows)
    print(f"recorded {written:,} facts in {time.perf_counter() - started:.0f} s")
    return written


def fold(store: Store, facts: int) -> None:
    started = time.perf_counter()
    folded = store.fold_journey_facts(FOLD_ROUND)
    seconds = time.perf_counter() - started
    print(f"folded {folded:,} facts in {seconds:.0f} s: {folded / seconds:,.0f} facts/s")
    assert folded == facts, (folded, facts)


def measure(store: Store, calls: int, first_day: date | None, last_day: date | None, now: datetime) -> tuple[float, float, int]:
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        counts = store.journey_counts([JOURNEY], first_day=first_day, last_day=last_day, now=now)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)], counts.entered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--facts-file", type=Path, help="generated facts, reused when it exists (default: in the scratch dir)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir for inspection")
    args = parser.parse_args()
    with scratch_dir(args.keep) as data_dir, open_store(data_dir, postgres=args.postgres) as store:
        path = args.facts_file or data_dir / "facts.marshal"
        if not path.exists():
            generate(path, args.enrollments)
        facts = load(store, path)
        fold(store, facts)
        now = START + timedelta(days=DAYS + 1)
        last = (START + timedelta(days=DAYS - 1)).date()
        print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.calls} calls each, target p95 <= {TARGET_MS:.0f} ms")
        for label, first_day, last_day in (("all 60 days", None, None), ("last 7 days", last - timedelta(days=6), last)):
            p50, p95, entered = measure(store, args.calls, first_day, last_day, now)
            verdict = "met" if p95 <= TARGET_MS else "MISSED"
            print(f"  {label:12} {entered:>9,} enrollments  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {verdict}")


if __name__ == "__main__":
    sys.exit(main())
