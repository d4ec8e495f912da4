"""Each step kind, run by the real workflow on the time-skipping server, as a customer would see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from tests.runtime.support import START, at, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMER = {"id": "c-1", "email": "ann@example.com", "first_name": "Ann", "push_tokens": ["device-1"]}


def sent(timeline: object) -> list[tuple[str, str]]:
    return [(m["step"], m["at"]) for m in timeline.messages]  # type: ignore[attr-defined]


async def test_send_renders_every_channel_with_profile_and_trigger_event(simulator: Simulator) -> None:
    flow = journey(
        """
        id: sends
        name: Sends
        trigger: {event: ordered}
        steps:
          - id: mail
            send: {channel: email, subject: "Hi {{ customer.first_name }}", body: "<p>Order {{ event.order_id }} & co</p>"}
          - id: text
            send: {channel: sms, body: "Order {{ event.order_id }} shipped"}
          - id: buzz
            send: {channel: push, title: "Shipped", body: "{{ event.order_id }}"}
        """
    )
    customer = {**CUSTOMER, "phone": "+14155552671", "sms_opt_in": True}
    timeline = await simulator.run(flow, customer, [ScriptedEvent(0, "ordered", {"order_id": "A<1>"})], START)
    mail, text, buzz = timeline.messages
    assert (mail["channel"], mail["to"], mail["subject"]) == ("email", "ann@example.com", "Hi Ann")
    # Values are escaped in HTML email, the template is not; marketing email without a link gets the unsubscribe footer.
    assert mail["body"].startswith("<p>Order A&lt;1&gt; & co</p>\n<p ") and ">Unsubscribe</a>" in mail["body"]
    assert (text["channel"], text["to"], text["body"]) == ("sms", "+14155552671", "Order A<1> shipped")
    assert (buzz["channel"], buzz["to"], buzz["subject"], buzz["body"]) == ("push", "device-1", "Shipped", "A<1>")
    assert timeline.outcome == {"status": "completed", "step": "buzz", "at": at("2026-01-05T09:00")}


async def test_sms_needs_an_opt_in_and_email_honours_an_opt_out(simulator: Simulator) -> None:
    flow = journey(
        """
        id: consent
        name: Consent
        trigger: {event: go}
        steps:
          - id: text
            send: {channel: sms, body: "Hello"}
          - id: mail
            send: {channel: email, subject: "Hello", body: "Hello"}
        """
    )
    customer = {**CUSTOMER, "phone": "+14155552671", "email_opt_in": False}
    timeline = await simulator.run(flow, customer, [ScriptedEvent(0, "go")], START)
    assert timeline.messages == []
    assert timeline.outcome["status"] == "completed"


async def test_wait_sleeps_for_the_duration(simulator: Simulator) -> None:
    flow = journey(
        """
        id: nap
        name: Nap
        trigger: {event: go}
        steps:
          - id: nap
            wait: 1d2h30m
          - id: hello
            send: {channel: email, subject: "Hello", body: "Hello"}
        """
    )
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go")], START)
    assert sent(timeline) == [("hello", at("2026-01-06T11:30"))]


async def test_wait_until_a_weekday_morning_in_the_customers_zone_across_spring_forward(simulator: Simulator) -> None:
    flow = journey(
        """
        id: monday
        name: Monday
        trigger: {event: go}
        settings: {timezone: America/New_York}
        steps:
          - id: monday_morning
            wait: {until: "09:00", days: [mon]}
          - id: hello
            send: {channel: email, subject: "Hello", body: "Hello"}
        """
    )
    # Friday 2026-03-06 (EST, UTC-5); clocks spring forward on Sunday the 8th: Monday 09:00 is EDT, 13:00 UTC.
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go")], datetime(2026, 3, 6, 15, tzinfo=UTC))
    assert sent(timeline) == [("hello", at("2026-03-09T13:00"))]
    # The profile's zone wins over the journey's: 09:00 in Tokyo (no DST) is 00:00 UTC.
    friday = datetime(2026, 3, 6, 15, tzinfo=UTC)
    tokyo = await simulator.run(flow, {**CUSTOMER, "timezone": "Asia/Tokyo"}, [ScriptedEvent(0, "go")], friday)
    assert sent(tokyo) == [("hello", at("2026-03-09T00:00"))]


async def test_wait_until_a_time_of_day_across_fall_back(simulator: Simulator) -> None:
    flow = journey(
        """
        id: morning
        name: Morning
        trigger: {event: go}
        settings: {timezone: Europe/London}
        steps:
          - id: morning
            wait: {until: "08:00"}
          - id: hello
            send: {channel: email, subject: "Hello", body: "Hello"}
        """
    )
    # Saturday 2026-10-24 12:00 UTC = 13:00 BST. The next 08:00 is Sunday the 25th, after the change: GMT, 08:00 UTC.
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go")], datetime(2026, 10, 24, 12, tzinfo=UTC))
    assert sent(timeline) == [("hello", at("2026-10-25T08:00"))]


async def test_wait_until_date_uses_the_profile_date_offset_and_local_time(simulator: Simulator) -> None:
    flow = journey(
        """
        id: renewal
        name: Renewal
        trigger: {event: go}
        settings: {timezone: America/New_York}
        steps:
          - id: two_days_before
            wait: {until_date: "customer.renews_on", offset: -2d, at: "10:00"}
          - id: reminder
            send: {channel: email, subject: "Renewal", body: "Soon"}
        """
    )
    # Renewal on Monday 2026-03-09 (EDT); two days before is Saturday the 7th, still EST: 10:00 is 15:00 UTC.
    timeline = await simulator.run(flow, {**CUSTOMER, "renews_on": "2026-03-09"}, [ScriptedEvent(0, "go")], START)
    assert sent(timeline) == [("reminder", at("2026-03-07T15:00"))]


async def test_wait_until_a_date_already_past_or_missing_goes_on_at_once(simulator: Simulator) -> None:
    flow = journey(
        """
        id: deadline
        name: Deadline
        trigger: {event: go}
        steps:
          - id: until_deadline
            wait: {until_date: "customer.deadline | default('')"}
          - id: now
            send: {channel: email, subject: "Now", body: "Now"}
        """
    )
    past = await simulator.run(flow, {**CUSTOMER, "deadline": "2025-12-01"}, [ScriptedEvent(0, "go")], START)
    missing = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go")], START)
    assert sent(past) == sent(missing) == [("now", at("2026-01-05T09:00"))]


WAIT_FOR = """
    id: confirm
    name: Confirm
    trigger: {event: signed_up}
    steps:
      - id: confirmed
        wait_for: {event: email_confirmed, where: "event.valid | default(true)", within: 2d, timeout_next: nag}
      - id: thanks
        send: {channel: email, subject: "Thanks", body: "Thanks"}
        next: end
      - id: nag
        send: {channel: email, subject: "Please confirm", body: "Please"}
    """


async def test_wait_for_goes_on_when_the_event_arrives(simulator: Simulator) -> None:
    events = [
        ScriptedEvent(0, "signed_up"),
        ScriptedEvent(3600, "email_confirmed", {"valid": False}),
        ScriptedEvent(7200, "email_confirmed"),
    ]
    timeline = await simulator.run(journey(WAIT_FOR), CUSTOMER, events, START)
    assert sent(timeline) == [("thanks", at("2026-01-05T11:00"))]  # the event failing `where` did not count
    assert timeline.outcome["step"] == "thanks"


async def test_wait_for_times_out_to_its_timeout_step(simulator: Simulator) -> None:
    timeline = await simulator.run(journey(WAIT_FOR), CUSTOMER, [ScriptedEvent(0, "signed_up")], START)
    assert sent(timeline) == [("nag", at("2026-01-07T09:00"))]
    assert [s["step"] for s in timeline.steps] == ["confirmed", "nag"]


async def test_wait_for_counts_only_events_that_arrive_while_it_waits(simulator: Simulator) -> None:
    flow = journey(
        """
        id: late
        name: Late
        trigger: {event: signed_up}
        steps:
          - id: settle
            wait: 1h
          - id: confirmed
            wait_for: {event: email_confirmed, within: 1d, timeout_next: end}
          - id: thanks
            send: {channel: email, subject: "Thanks", body: "Thanks"}
        """
    )
    early = [ScriptedEvent(0, "signed_up"), ScriptedEvent(60, "email_confirmed")]
    timeline = await simulator.run(flow, CUSTOMER, early, START)
    assert timeline.messages == []
    assert timeline.outcome == {"status": "completed", "step": "confirmed", "at": at("2026-01-06T10:00")}


async def test_branch_takes_the_first_true_case_else_the_else(simulator: Simulator) -> None:
    flow = journey(
        """
        id: tiers
        name: Tiers
        trigger: {event: go}
        steps:
          - id: tier
            branch:
              - when: "customer.spend | default(0) >= 1000"
                next: gold
              - when: "customer.spend | default(0) >= 100 or event.vip | default(false)"
                next: silver
              - else: bronze
          - id: gold
            send: {channel: email, subject: "gold", body: "x"}
            next: end
          - id: silver
            send: {channel: email, subject: "silver", body: "x"}
            next: end
          - id: bronze
            send: {channel: email, subject: "bronze", body: "x"}
        """
    )
    cases = [
        ({"spend": 5000}, {}, "gold"),
        ({"spend": 200}, {}, "silver"),
        ({}, {"vip": True}, "silver"),
        ({"spend": "lots"}, {}, "bronze"),  # a condition that fails to evaluate is false
    ]
    for traits, event, expected in cases:
        timeline = await simulator.run(flow, {**CUSTOMER, **traits}, [ScriptedEvent(0, "go", event)], START)
        assert [m["subject"] for m in timeline.messages] == [expected], (traits, event)


async def test_a_branch_on_a_negated_missing_trait_takes_its_then_path(simulator: Simulator) -> None:
    flow = journey(
        """
        id: perks
        name: Perks
        trigger: {event: go}
        steps:
          - id: pick
            branch:
              - when: "not customer.is_vip"
                next: upsell
              - else: thanks
          - id: upsell
            send: {channel: email, subject: "upsell", body: "x"}
            next: end
          - id: thanks
            send: {channel: email, subject: "thanks", body: "x"}
        """
    )
    # A customer without `is_vip` is not a VIP: a missing trait is none, which is false.
    for traits, expected in [({}, "upsell"), ({"is_vip": False}, "upsell"), ({"is_vip": True}, "thanks")]:
        timeline = await simulator.run(flow, {**CUSTOMER, **traits}, [ScriptedEvent(0, "go")], START)
        assert [m["subject"] for m in timeline.messages] == [expected], traits


SPLIT = """
    id: ab
    name: AB
    trigger: {event: go}
    goal: {event: bought, within: 7d}
    steps:
      - id: test
        split:
          paths:
            - {name: a, weight: 1, next: send_a}
            - {name: b, weight: 1, next: send_b}
          holdout: 1
      - id: send_a
        send: {channel: email, subject: "a", body: "x"}
        next: end
      - id: send_b
        send: {channel: email, subject: "b", body: "x"}
    """


async def test_split_is_deterministic_per_customer_and_the_holdout_gets_nothing(simulator: Simulator) -> None:
    from orchestrator.runtime.split import assign_split

    flow = journey(SPLIT)
    step = flow.step("test")
    assert isinstance(step, type(step))
    groups = {name: next(f"c-{n}" for n in range(100) if assign_split(f"c-{n}", "ab", step) == name) for name in ("a", "b", "holdout")}  # type: ignore[arg-type]
    for name, customer_id in groups.items():
        timeline = await simulator.run(flow, {**CUSTOMER, "id": customer_id}, [ScriptedEvent(0, "go")], START)
        if name == "holdout":
            assert timeline.messages == []
            # Kept until the goal window closes, so a conversion would count.
            held = {"status": "holdout", "step": "test", "at": at("2026-01-12T09:00"), "reason": "holdout of split test"}
            assert timeline.outcome == held
        else:
            assert [m["subject"] for m in timeline.messages] == [name]
    events = [ScriptedEvent(0, "go"), ScriptedEvent(86400, "bought")]
    converted = await simulator.run(flow, {**CUSTOMER, "id": groups["holdout"]}, events, START)
    assert converted.outcome == {"status": "converted", "step": "test", "at": at("2026-01-06T09:00"), "reason": "goal: bought"}


async def test_without_within_every_group_of_a_split_is_measured_for_the_default_week(simulator: Simulator) -> None:
    from orchestrator.runtime.split import assign_split

    flow = journey(SPLIT.replace("goal: {event: bought, within: 7d}", "goal: {event: bought}"))
    step = flow.step("test")
    groups = {name: next(f"c-{n}" for n in range(100) if assign_split(f"c-{n}", "ab", step) == name) for name in ("a", "holdout")}  # type: ignore[arg-type]
    buys_on_day_three = [ScriptedEvent(0, "go"), ScriptedEvent(3 * 86400, "bought")]
    for name, customer_id in groups.items():
        converted = await simulator.run(flow, {**CUSTOMER, "id": customer_id}, buys_on_day_three, START)
        # The arm has sent its one email and the holdout got none; both are still there to count the purchase.
        assert converted.outcome["status"] == "converted", name
        assert converted.outcome["at"] == at("2026-01-08T09:00"), name
        quiet = await simulator.run(flow, {**CUSTOMER, "id": customer_id}, [ScriptedEvent(0, "go")], START)
        assert quiet.outcome["status"] == ("holdout" if name == "holdout" else "completed"), name
        assert quiet.outcome["at"] == at("2026-01-12T09:00"), name
    late = [ScriptedEvent(0, "go"), ScriptedEvent(8 * 86400, "bought")]
    after_the_week = await simulator.run(flow, {**CUSTOMER, "id": groups["a"]}, late, START)
    assert after_the_week.outcome == {
        "status": "completed",
        "step": "send_a",
        "at": at("2026-01-12T09:00"),
        "reason": "measured until the goal's window closed, 1w after entry",
    }


async def test_a_journey_without_a_split_completes_at_its_last_step_as_before(simulator: Simulator) -> None:
    flow = journey(
        """
        id: plain
        name: Plain
        trigger: {event: go}
        goal: {event: bought}
        steps:
          - id: hello
            send: {channel: email, subject: "hi", body: "x"}
        """
    )
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go"), ScriptedEvent(86400, "bought")], START)
    assert timeline.outcome == {"status": "completed", "step": "hello", "at": at("2026-01-05T09:00")}


async def test_update_sets_computes_and_unsets_traits_that_later_steps_read(simulator: Simulator) -> None:
    flow = journey(
        """
        id: profile
        name: Profile
        trigger: {event: go}
        steps:
          - id: write
            update:
              set: {tier: gold}
              compute: {visits: "customer.visits | default(0) + 1", last_order: "event.order_id"}
              unset: [coupon]
          - id: again
            update:
              compute: {visits: "customer.visits + 1"}
          - id: report
            send:
              channel: email
              subject: "{{ customer.tier }} {{ customer.visits }} {{ customer.last_order }} {{ customer.coupon | default('none') }}"
              body: "x"
        """
    )
    timeline = await simulator.run(flow, {**CUSTOMER, "visits": 4, "coupon": "X1"}, [ScriptedEvent(0, "go", {"order_id": "A-9"})], START)
    assert [m["subject"] for m in timeline.messages] == ["gold 6 A-9 none"]


async def test_webhook_is_called_with_rendered_templates_and_an_idempotency_key(simulator: Simulator) -> None:
    flow = journey(
        """
        id: hook
        name: Hook
        trigger: {event: go}
        steps:
          - id: ticket
            webhook:
              url: "https://desk.example.com/tickets?c={{ customer.id }}"
              headers: {Authorization: "Bearer {{ secrets.DESK_TOKEN }}"}
              body: {email: "{{ customer.email }}", order: "{{ event.order_id }}", tags: [a, b]}
          - id: after
            send: {channel: email, subject: "after", body: "x"}
        """
    )
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go", {"order_id": "A-9"})], START)
    (call,) = timeline.webhooks
    assert (call["step"], call["method"], call["url"]) == ("ticket", "POST", "https://desk.example.com/tickets?c=c-1")
    assert '"email":"ann@example.com"' in call["body"].replace(" ", "") and '"order":"A-9"' in call["body"].replace(" ", "")
    assert [m["step"] for m in timeline.messages] == ["after"]


async def test_exit_step_ends_as_exited_at_that_step(simulator: Simulator) -> None:
    flow = journey(
        """
        id: leave
        name: Leave
        trigger: {event: go}
        steps:
          - id: gate
            branch:
              - when: "customer.blocked | default(false)"
                next: blocked
              - else: hello
          - id: blocked
            exit: {reason: blocked}
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
        """
    )
    timeline = await simulator.run(flow, {**CUSTOMER, "blocked": True}, [ScriptedEvent(0, "go")], START)
    assert timeline.messages == []
    assert timeline.outcome == {"status": "exited", "step": "blocked", "at": at("2026-01-05T09:00"), "reason": "blocked"}


GOAL = """
    id: goal
    name: Goal
    trigger: {event: go}
    goal: {event: bought, where: "event.total | default(0) > 0", within: 3d}
    exit_on: [unsubscribed, {event: complained, where: "event.severe | default(false)"}]
    steps:
      - id: first
        wait: 1d
      - id: hello
        send: {channel: email, subject: "hello", body: "x"}
      - id: forever
        wait_for: {event: never}
    """


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ([(3600, "bought", {"total": 10})], {"status": "converted", "step": "first", "at": at("2026-01-05T10:00")}),
        ([(2 * 86400, "bought", {"total": 10})], {"status": "converted", "step": "forever", "at": at("2026-01-07T09:00")}),
        ([(3600, "bought", {"total": 0}), (3 * 86400 + 60, "bought", {"total": 5})], {"status": "waiting", "step": "forever"}),
        ([(60, "complained", {}), (120, "unsubscribed", {})], {"status": "exited", "step": "first", "at": at("2026-01-05T09:02")}),
        ([(60, "complained", {"severe": True})], {"status": "exited", "step": "first", "at": at("2026-01-05T09:01")}),
    ],
    ids=["goal-while-waiting", "goal-at-a-later-step", "goal-where-false-then-window-closed", "exit-on", "exit-on-where"],
)
async def test_goal_and_exit_on_end_the_enrollment_from_any_step(simulator: Simulator, events: list, outcome: dict) -> None:
    scripted = [ScriptedEvent(0, "go"), *(ScriptedEvent(offset, name, props) for offset, name, props in events)]
    timeline = await simulator.run(journey(GOAL), CUSTOMER, scripted, START, horizon=timedelta(days=5))
    assert {k: timeline.outcome[k] for k in outcome} == outcome
