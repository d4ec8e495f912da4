"""Messages per second through the whole send path, against raw SDK calls to the same fake provider, per channel.

Full path: `JourneyActivities.send_message` as the worker's activity threads run
it: profile read, delivery gate (consent, address, frequency-cap lookup) and the
ledger claim with its outcome in one transaction, rendering, the provider's SDK
call with the token bucket, then the outbox row and `sent` (SQLite store in a
temporary folder). Each channel in turn: email through SendGrid's SDK, SMS through
Twilio's, push through firebase-admin, to the local fakes (tests/activities/providers/fakes.py).
Floor: the same SDK call with the very request the path makes for each message
(rendered and built beforehand, outside the timing) to the same fake, on the same
number of threads: for email `SendGridAPIClient` posting the v3 body, for SMS
`client.messages.create`, for push `messaging.send`. The ratio full/floor is the
share of provider throughput the send path keeps (target >= 0.7).

The two sides take turns in chunks of `--chunk` messages on one thread pool (the order
alternating), and each round's ratio pairs the two sides' totals: on a shared machine,
load from elsewhere then weighs on both alike. The median and the best round's ratio are
reported. Each round has a fake of its own, on a new port: SendGrid's SDK opens a connection per
request, and the tens of thousands of connections of earlier rounds, in TIME_WAIT on this
host, made the next rounds' connects slower and slower, which slows the raw side more in
proportion and lifted the later rounds' ratios (0.55-0.61 in the first rounds of a run,
0.72-0.73 in the third and fifth). Twilio's and firebase-admin's SDKs keep their connections.
The fake keeps its handler threads for the next connections: a thread started per SendGrid
connection made every email wait for it to get the GIL, on both sides, which flattered the
email ratio by about 0.03 (in bench/RESULTS.md's git history).

Last, the path's own work is timed on one thread with the provider replaced by a stub that
only builds SendGrid's request body: the steadiest figure for a change to the path, whose
effect on the ratio is often smaller than one run's noise (in bench/RESULTS.md's git history). And the decode
of one send request's JSON by Temporal's default converter, as a worker decodes it before
calling the activity: the rounds call the activity directly and leave it out.

With `--postgres` the store is a throwaway PostgreSQL server (tests/postgres.py: the Debian server
binaries, fsync off) on the same machine, a database of its own for each round, as at scale.

Run: .venv/bin/python bench/send_path.py [--channels email,sms,push --messages 600 --threads 8 --rounds 5 --chunk 200 --postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firebase_admin import messaging
from temporalio.converter import DataConverter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.journey_activities import JourneyActivities
from activities.messages import Message, build_message
from activities.providers import ChannelProviders
from activities.providers.base import ProviderResult
from activities.providers.fcm_push import FcmPush, FcmSettings
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from activities.providers.twilio_sms import TwilioSettings, TwilioSms
from orchestrator import ir
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store
from tests.activities.providers.fakes import FCM, SENDGRID, TWILIO, FakeProviders, service_account

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SETTINGS = ir.Settings(timezone="UTC", frequency_cap=ir.FrequencyCap(3, 86400))
UNLIMITED = 1e9


@dataclass(frozen=True)
class Channel:
    """One provider's side of the bench: what the full path sends, and the same SDK call made raw."""

    name: ir.Channel
    route: str
    subject: str | None
    title: str | None
    body: str
    provider: Callable[[FakeProviders], Any]
    """The provider the full path sends through, pointed at the fake."""
    raw: Callable[[Any, list[Message]], tuple[Callable[[Any], Any], list[Any]]]
    """The raw side, given a provider of its own and the messages the path renders: its SDK call and, prebuilt, the
    very request the path makes for each message."""

    def traits(self, customer: str) -> dict[str, Any]:
        return {
            "email": f"{customer}@example.com",
            "phone": "+14155550100",
            "push_tokens": [f"token-{customer}"],
            "first_name": "Ann",
            f"{self.name}_opt_in": True,
        }

    def request(self, i: int, customer: str) -> SendRequest:
        return SendRequest(
            enrollment_id=f"bench-{i}",
            journey_id="bench",
            version="v1",
            visit=1,
            customer_id=customer,
            step=ir.SendStep(id="reminder", channel=self.name, next="end", subject=self.subject, title=self.title, body=self.body),
            settings=SETTINGS,
            event={"cart_value": 42, "cart_url": "https://shop.example/c/1"},
            now=NOW.isoformat(),
        )


def sendgrid(fake: FakeProviders) -> SendGridEmail:
    return SendGridEmail(SendGridSettings("SG.bench", "news@shop.example", host=fake.url), bucket=TokenBucket(UNLIMITED))


def raw_sendgrid(email: SendGridEmail, messages: list[Message]) -> tuple[Callable[[Any], Any], list[Any]]:
    bodies = [email.body(message, f"raw-{n}", message.to) for n, message in enumerate(messages)]
    return (lambda body: email.client.client.mail.send.post(request_body=body, timeout=10)), bodies


def twilio(fake: FakeProviders) -> TwilioSms:
    return TwilioSms(TwilioSettings("AC0123", "auth-token", sender="+15550100", base_url=fake.url), bucket=TokenBucket(UNLIMITED))


def raw_twilio(sms: TwilioSms, messages: list[Message]) -> tuple[Callable[[Any], Any], list[Any]]:
    client = sms.client
    return (lambda message: client.messages.create(to=message.to, from_=sms.settings.sender, body=message.body)), messages


@functools.cache
def fcm_account() -> dict[str, str]:
    return service_account("")  # an RSA key, made once


def fcm(fake: FakeProviders) -> FcmPush:
    account = {**fcm_account(), "token_uri": f"{fake.url}/token"}
    return FcmPush(FcmSettings(account, base_url=fake.url), bucket=TokenBucket(UNLIMITED))


def raw_fcm(push: FcmPush, messages: list[Message]) -> tuple[Callable[[Any], Any], list[Any]]:
    items = [push.fcm_message(message, f"raw-{n}", message.to) for n, message in enumerate(messages)]
    return (lambda item: messaging.send(item, app=push.app)), items


CHANNELS = {
    "email": Channel(
        "email",
        SENDGRID,
        subject="{{ customer.first_name | default('Hi') }}, you left something behind",
        title=None,
        body="<p>Hello {{ customer.first_name }}, your cart of {{ event.cart_value }} is waiting: {{ event.cart_url }}</p>",
        provider=sendgrid,
        raw=raw_sendgrid,
    ),
    "sms": Channel(
        "sms",
        TWILIO,
        subject=None,
        title=None,
        body="{{ customer.first_name }}, your cart of {{ event.cart_value }} is waiting: {{ event.cart_url }}",
        provider=twilio,
        raw=raw_twilio,
    ),
    "push": Channel(
        "push",
        FCM,
        subject=None,
        title="Your cart",
        body="{{ customer.first_name }}, your cart of {{ event.cart_value }} is waiting",
        provider=fcm,
        raw=raw_fcm,
    ),
}


def rendered(activities: JourneyActivities, request: SendRequest) -> Message:
    """The message the path renders for `request`, as the raw side sends it: the same content to the same address."""
    with activities.store.read() as session:
        profile = session.get_profile(request.customer_id)
    assert profile is not None
    return build_message(request, request.step.channel, profile, unsubscribe=activities.unsubscribe)


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


class Stores:
    """A fresh, migrated store for each round: SQLite in a temporary folder, or a new database on one PostgreSQL server."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self._server: Any = None

    def __enter__(self) -> Stores:
        if self.postgres:
            from tests.postgres import start_server

            self._server = start_server()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.stop()

    @property
    def kind(self) -> str:
        return "PostgreSQL" if self.postgres else "SQLite"

    @contextlib.contextmanager
    def fresh(self) -> Iterator[Store]:
        with tempfile.TemporaryDirectory() as folder:
            url = self._server.url(self._server.create_database()) if self._server else f"sqlite:///{Path(folder) / 'store.db'}"
            store = Store(url)
            try:
                store.migrate()
                yield store
            finally:
                store.dispose()


def run_round(channel: Channel, fake: FakeProviders, stores: Stores, messages: int, threads: int, chunk: int, run: int) -> Round:
    """`messages` sends each way, in alternating chunks, so both sides see the same machine load."""
    with stores.fresh() as store:
        customers = [f"c-{n}" for n in range(messages)]
        with store.session() as session:
            for customer in customers:
                session.identify(customer, channel.traits(customer), NOW)
        provider, floor = channel.provider(fake), channel.provider(fake)
        activities = JourneyActivities(store, providers=ChannelProviders({channel.name: provider}))
        requests = [channel.request(run * messages + i, customers[i]) for i in range(messages)]
        post, items = channel.raw(floor, [rendered(activities, r) for r in requests])
        result = Round(messages=messages)
        with ThreadPoolExecutor(threads) as pool:
            for number, first in enumerate(range(0, messages, chunk)):
                sides = [("raw", post, items), ("full", activities.send_message, requests)]
                for side, call, work in sides if number % 2 == 0 else reversed(sides):
                    started = time.perf_counter()
                    outcomes = list(pool.map(call, work[first : first + chunk]))
                    elapsed = time.perf_counter() - started
                    if side == "raw":
                        result.raw_seconds += elapsed
                    else:
                        result.full_seconds += elapsed
                        assert all(r.status == "sent" for r in outcomes), {(r.status, r.reason) for r in outcomes}
        for used in (provider, floor):
            getattr(used, "close", lambda: None)()
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


def own_cost(stores: Stores, messages: int, rounds: int) -> float:
    """Seconds a send of the path's own work takes on one thread, provider stubbed (the best of `rounds`, after one warm-up)."""
    with stores.fresh() as store:
        customers = [f"c-{n}" for n in range(messages * (rounds + 1))]
        with store.session() as session:
            for customer in customers:
                session.identify(customer, CHANNELS["email"].traits(customer), NOW)
        email = SendGridEmail(SendGridSettings("SG.bench", "news@shop.example", host="http://127.0.0.1:9"), bucket=TokenBucket(UNLIMITED))
        activities = JourneyActivities(store, providers=ChannelProviders({"email": BodyOnly(email)}))
        requests = [CHANNELS["email"].request(n, customer) for n, customer in enumerate(customers)]
        best = float("inf")
        for run in range(rounds + 1):
            started = time.perf_counter()
            for item in requests[run * messages : (run + 1) * messages]:
                assert activities.send_message(item).status == "sent"
            if run:
                best = min(best, (time.perf_counter() - started) / messages)
    return best


def decode_cost(decodes: int, rounds: int) -> float:
    """Seconds Temporal's default converter takes to decode one send request into the activity's argument type."""
    converter = DataConverter.default.payload_converter
    argument = typing.get_type_hints(JourneyActivities.send_message)["request"]
    payloads = converter.to_payloads([CHANNELS["email"].request(0, "c-0")])
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(decodes):
            converter.from_payloads(payloads, [argument])
        best = min(best, (time.perf_counter() - started) / decodes)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=200, help="messages per turn of each side (they alternate)")
    parser.add_argument("--channels", default=",".join(CHANNELS), help="comma-separated, of " + ", ".join(CHANNELS))
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    with Stores(args.postgres) as stores:
        report(args, stores)


def report(args: argparse.Namespace, stores: Stores) -> None:
    print(f"store: {stores.kind}")
    medians: dict[str, float] = {}
    for name in args.channels.split(","):
        channel = CHANNELS[name]
        rounds: list[Round] = []
        sent = 0
        with FakeProviders() as fake:
            run_round(channel, fake, stores, 50, args.threads, 50, args.rounds)  # warm up
        for run in range(args.rounds):
            with FakeProviders() as fake:
                rounds.append(run_round(channel, fake, stores, args.messages, args.threads, args.chunk, run))
                sent += len(fake.sent(channel.route))
            r = rounds[-1]
            print(f"{name} round {run + 1}: raw SDK {r.raw:5.0f} msg/s, full send path {r.full:5.0f} msg/s, ratio {r.full / r.raw:.2f}")
        best = max(rounds, key=lambda r: r.full / r.raw)
        raw, full = max(r.raw for r in rounds), max(r.full for r in rounds)
        medians[name] = statistics.median(r.full / r.raw for r in rounds)
        print(f"{name}: median of the rounds' ratios {medians[name]:.2f} (target 0.7)")
        print(f"{name}: best round raw SDK {best.raw:.0f} msg/s, full send path {best.full:.0f} msg/s, ratio {best.full / best.raw:.2f}")
        print(f"{name}: fastest of each side, unpaired: raw SDK {raw:.0f} msg/s, full send path {full:.0f} msg/s, ratio {full / raw:.2f}")
        print(f"{name}: requests the fake received {sent} (expected {2 * args.messages * args.rounds})")
    print("medians: " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in medians.items()))
    print(f"the path's own work, one thread, email, provider stubbed: {own_cost(stores, 1000, 5) * 1e6:.0f} us a send (best of 5 rounds)")
    print(f"decoding a send request as the worker does (Temporal's JSON converter): {decode_cost(2000, 5) * 1e6:.0f} us (best of 5 rounds)")


if __name__ == "__main__":
    main()
