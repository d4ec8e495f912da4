"""Issue 22's end-to-end test on `journey dev`: an A/B test with a holdout reports exactly what the calls imply.

Customers are identified and enter through the API, their emails reach fake SendGrid, signed
webhooks report deliveries, a bounce, opens and a click, some customers convert (one twice)
and some answer the survey. Once every conversion window has closed, `GET
/v1/journeys/{id}/stats`, `journey stats --format json` and `GET /v1/facts` agree with the
counts worked out here from those calls alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.host.devserver import free_port
from orchestrator.runtime.split import assign_split
from tests.activities.providers.fakes import SENDGRID, FakeProviders, Recorded
from tests.stack.devstack_process import DevStack
from tests.stack.processes import eventually
from tests.webhooks.signing import SendGridSigner

WINDOW_SECONDS = 20
TRIAL = f"""\
id: trial_test
name: Trial kickoff A/B test with a holdout
trigger: {{event: trial_started}}
goal: {{event: subscription_started, within: {WINDOW_SECONDS}s, value: "event.revenue"}}
metrics:
  - {{id: nps, kind: nps, event: survey_answered, value: "event.score"}}
steps:
  - id: subject_test
    split:
      paths:
        - {{name: a, weight: 40, next: kickoff_a}}
        - {{name: b, weight: 40, next: kickoff_b}}
      holdout: 20
  - id: kickoff_a
    send: {{channel: email, category: transactional, subject: "Your trial is live", body: "<p>Ship something this week.</p>"}}
    next: end
  - id: kickoff_b
    send: {{channel: email, category: transactional, subject: "What will you build first?", body: "<p>Tell us.</p>"}}
"""
CUSTOMERS = [f"trial{n:02d}" for n in range(22)]  # 11 in a, 8 in b, 3 in the holdout


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def stack(tmp_path: Path, fake: FakeProviders, signer: SendGridSigner) -> Iterator[DevStack]:
    folder = tmp_path / "journeys"
    folder.mkdir()
    (folder / "trial_test.yaml").write_text(TRIAL)
    port = free_port()
    env = {
        "SENDGRID_API_KEY": "SG.stack-test",
        "SENDGRID_FROM": "Shop <news@shop.example>",
        "SENDGRID_BASE_URL": fake.url,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key,
        "JOURNEY_UNSUBSCRIBE_SECRET": "stack-test-unsubscribe-secret",
        "JOURNEY_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    stack = DevStack(folder, tmp_path / ".journey", api_port=port, env=env)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


def arms() -> dict[str, str]:
    """Each customer's group, by the product's own assignment (a hash of customer, journey and step)."""
    result = compile_text(TRIAL, file="trial_test.yaml", directory=Path("."))
    assert result.journey is not None
    split = result.journey.step("subject_test")
    assert isinstance(split, ir.SplitStep)
    return {customer: assign_split(customer, "trial_test", split) for customer in CUSTOMERS}


def sendgrid_events(stack: DevStack, signer: SendGridSigner, events: list[dict[str, Any]]) -> None:
    body, headers = signer.request(events)
    answer = httpx.post(stack.url + "/webhooks/sendgrid", content=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text


def event_for(email: Recorded, kind: str, event_id: str) -> dict[str, Any]:
    return {
        "email": email.body["personalizations"][0]["to"][0]["email"],
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": event_id,
        "sg_message_id": f"{event_id}.filterdrecv-1",
        "journey_message_id": email.body["custom_args"]["journey_message_id"],
    }


def track(stack: DevStack, customer: str, event: str, message_id: str, **properties: Any) -> None:
    answer = stack.post("/v1/track", {"userId": customer, "event": event, "messageId": message_id, "properties": properties})
    assert answer.status_code == 200, answer.text


def test_an_ab_test_with_a_holdout_reports_exactly_what_the_calls_imply(
    stack: DevStack, fake: FakeProviders, signer: SendGridSigner
) -> None:
    group = arms()
    members = {name: [c for c in CUSTOMERS if group[c] == name] for name in ("a", "b", "holdout")}
    assert all(len(m) >= 3 for m in members.values()), members  # the ids are chosen so that every group has customers to act
    a, b, held_out = members["a"], members["b"], members["holdout"]

    for customer in CUSTOMERS:
        assert stack.post("/v1/identify", {"userId": customer, "traits": {"email": f"{customer}@example.com"}}).status_code == 200
        track(stack, customer, "trial_started", f"start-{customer}", plan="pro")
    entered_by = time.monotonic()

    emails = eventually(lambda: len(fake.sent(SENDGRID)) == len(a) + len(b) and fake.sent(SENDGRID), timeout=60, what="every kickoff email")
    by_customer = {email.body["personalizations"][0]["to"][0]["email"].split("@")[0]: email for email in emails}
    assert set(by_customer) == set(a) | set(b)  # the holdout gets nothing

    bounced = a[0]
    delivered = [c for c in by_customer if c != bounced]
    report = [event_for(by_customer[bounced], "bounce", "bounce-0")]
    report += [event_for(by_customer[c], "delivered", f"delivered-{c}") for c in delivered]
    report += [event_for(by_customer[a[1]], "open", "open-a1"), event_for(by_customer[b[0]], "open", "open-b0")]
    report += [event_for(by_customer[b[1]], "click", "click-b1")]  # a click without an open: it opened it
    report += [event_for(by_customer[b[0]], "open", "open-b0-again")]  # a second open of the same email
    sendgrid_events(stack, signer, report)
    sendgrid_events(stack, signer, report[:3])  # SendGrid retries a batch: nothing counts twice

    # Conversions: one in each arm and one in the holdout, one customer twice (the first counts), one who never entered.
    converted = {a[1]: 30.0, b[0]: 50.0, held_out[0]: 20.0}
    for customer, revenue in converted.items():
        track(stack, customer, "subscription_started", f"paid-{customer}", revenue=revenue)
    track(stack, b[0], "subscription_started", "paid-again", revenue=999.0)
    track(stack, "stranger", "subscription_started", "paid-stranger", revenue=10.0)
    # Survey answers: a promoter in each arm, a detractor in the holdout, and an answer off the 0-10 scale.
    for customer, score in ((a[2], 10), (b[2], 9), (held_out[1], 3), (held_out[2], 11)):
        track(stack, customer, "survey_answered", f"nps-{customer}", score=score)

    time.sleep(max(0.0, WINDOW_SECONDS + 2 - (time.monotonic() - entered_by)))  # every window has closed
    stats = stack.wait_for("/v1/journeys/trial_test/stats", lambda s: s["totals"]["waiting"] == 0, timeout=60)

    assert stats["totals"]["entered"] == stats["totals"]["customers"] == len(CUSTOMERS)
    assert (stats["totals"]["converted"], stats["totals"]["exited"], stats["totals"]["failed"]) == (3, 0, 0)
    assert stats["totals"]["holdout"] == len(held_out) - 1  # the holdout customer who converted ended as converted
    everyone = len(CUSTOMERS)
    assert stats["conversion"] | {"ci": None} == {"converted": 3, "matured": everyone, "maturing": 0, "rate": 3 / everyone, "ci": None}
    revenue = stats["revenue"]
    assert (revenue["total"], revenue["conversions"], revenue["enrollments"]) == (100.0, 3, len(CUSTOMERS))

    steps = {step["step"]: step for step in stats["steps"]}
    assert steps["subject_test"]["reached"] == len(CUSTOMERS)
    for step, customers in (("kickoff_a", a), ("kickoff_b", b)):
        assert (steps[step]["reached"], steps[step]["sent"], steps[step]["waiting"]) == (len(customers), len(customers), 0)
    assert (steps["kickoff_a"]["delivered"], steps["kickoff_a"]["bounced"]) == (len(a) - 1, 1)
    assert (steps["kickoff_a"]["opened"], steps["kickoff_a"]["clicked"]) == (1, 0)
    assert (steps["kickoff_b"]["delivered"], steps["kickoff_b"]["bounced"]) == (len(b), 0)
    assert (steps["kickoff_b"]["opened"], steps["kickoff_b"]["clicked"]) == (2, 1)
    assert (steps["kickoff_a"]["credited"], steps["kickoff_b"]["credited"]) == (1, 1)  # the holdout's conversion had no message

    (split,) = stats["splits"]
    assert split["control"] == "holdout"
    groups = {arm["arm"]: arm for arm in split["arms"]}
    assert {name: (arm["assigned"], arm["matured"], arm["converted"]) for name, arm in groups.items()} == {
        "a": (len(a), len(a), 1), "b": (len(b), len(b), 1), "holdout": (len(held_out), len(held_out), 1),
    }  # fmt: skip
    assert split["verdict"].startswith("too few matured enrollments")

    (nps,) = stats["metrics"]
    assert (nps["id"], nps["responses"], nps["buckets"]) == ("nps", 3, {"promoter": 2, "passive": 0, "detractor": 1})
    assert nps["value"] == pytest.approx(100 * (2 - 1) / 3)
    assert sum(day["entered"] for day in stats["daily"]) == len(CUSTOMERS) and sum(day["converted"] for day in stats["daily"]) == 3
    assert sum(day["sent"] for day in stats["daily"]) == len(a) + len(b)

    listed = {journey["id"]: journey for journey in stack.get("/v1/journeys").json()["journeys"]}
    assert (listed["trial_test"]["entered"], listed["trial_test"]["converted"], listed["trial_test"]["waiting"]) == (len(CUSTOMERS), 3, 0)

    # The command line reads the same store and prints the same document.
    printed = subprocess.run(
        [sys.executable, "-m", "orchestrator", "stats", "trial_test", "--format", "json", "--data-dir", str(stack.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert {**json.loads(printed.stdout), "as_of": None} == {**stats, "as_of": None}

    # The warehouse stream holds every fact once, in order, and resumes where it stopped.
    lines = [json.loads(line) for line in stack.get("/v1/facts?limit=10000").text.splitlines()]
    kinds = Counter(line["kind"] for line in lines if line["journey_id"] == "trial_test")
    assert (kinds["entered"], kinds["goal"], kinds["response"], kinds["message"]) == (len(CUSTOMERS), 3, 3, len(a) + len(b))
    assert kinds["provider"] == len(a) + len(b) + 3  # delivered or bounced each, two opens and a click: repeats dropped
    half = len(lines) // 2
    rest = [json.loads(line) for line in stack.get(f"/v1/facts?after={lines[half - 1]['cursor']}&limit=10000").text.splitlines()]
    assert rest == lines[half:]
