"""An anonymous visitor in a simulation's files: `anonymous_id` in a customer file, `user_id` on an identify event.

What they are read as, and every rule they can break (orchestrator/simulation/script_checks.py), named by
file, line and field in `journey test` files and in `journey simulate`'s customer and events files alike.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.simulation import journey_tests
from orchestrator.simulation.journey_tests import load_test_file, scripted_events
from orchestrator.simulation.recorded_profile import RecordedProfile
from orchestrator.simulation.script import customer_id_of, customer_traits
from orchestrator.simulation.script_checks import script_problems
from orchestrator.store import Store
from orchestrator.store.identities import merge_identity

JOURNEYS = Path(__file__).parents[2] / "journeys"
AT = datetime(2026, 3, 2, 14, tzinfo=UTC)


def test_a_customer_file_with_an_anonymous_id_is_that_visitors_anonymous_profile() -> None:
    visitor = {"anonymous_id": "v-1", "first_name": "Maya"}
    assert customer_id_of(visitor) == "anonymous:v-1"
    assert customer_traits(visitor) == {"first_name": "Maya"}
    assert customer_id_of({"id": "u-1", "anonymous_id": None}) == "u-1"  # a case's null drops the file's visitor


def test_an_identify_event_carries_the_user_id_it_logs_in_as() -> None:
    login, view = scripted_events(
        [{"at": "20m", "event": "identify", "user_id": "u-1", "properties": {"email": "maya@example.com"}}, {"at": 0, "event": "viewed"}]
    )
    assert (login.offset_seconds, login.name, login.user_id, login.properties) == (1200, "identify", "u-1", {"email": "maya@example.com"})
    assert view.user_id is None


def test_a_test_file_with_a_visitor_and_a_login_loads(tmp_path: Path) -> None:
    path = tmp_path / "visitor.yaml"
    path.write_text(
        """
journey: ../browse_abandonment.yaml
customer: {id: u-9}
cases:
  - name: a visitor instead of the file's customer
    customer: {id: null, anonymous_id: v-1}
    events:
      - {at: 0, event: identify, user_id: u-1, properties: {email: maya@example.com}}
    expect: {}
"""
    )
    document = load_test_file(path)
    assert document["cases"][0]["events"][0]["user_id"] == "u-1"


BROKEN = """\
journey: ../browse_abandonment.yaml
customer: {id: u-9, email: a@example.com}
cases:
  - name: a visitor with the file's id too
    customer: {anonymous_id: v-1}
    events:
      - {at: 0, event: Product Viewed, user_id: u-1}
    expect: {}
  - name: a known customer logs in
    events:
      - {at: 0, event: identify, user_id: u-2}
    expect: {}
  - name: a visitor logs in as an anonymous profile, then as two customers
    customer: {id: null, anonymous_id: v-2}
    events:
      - {at: 0, event: identify, user_id: "anonymous:v-3"}
      - {at: 1h, event: identify, user_id: u-4}
      - {at: 2h, event: identify, user_id: u-5}
      - {at: 3h, event: identify, user_id: u-4}
    expect: {}
  - name: a second case with the file's customer says nothing about it again
    customer: {anonymous_id: v-6}
    expect: {}
"""


def test_every_identity_problem_of_a_test_file_is_located(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    with pytest.raises(journey_tests.TestFileError) as raised:
        load_test_file(path)
    found = {(d.line, d.column, d.rule, d.message.split(":")[0]) for d in raised.value.diagnostics}
    assert found == {
        (5, 30, "test-identity", "cases.0.customer.anonymous_id"),
        (7, 49, "test-identity", "cases.0.events.0.user_id"),
        (11, 43, "test-identity", "cases.1.events.0.user_id"),
        (16, 43, "test-identity", "cases.2.events.0.user_id"),
        (18, 44, "test-identity", "cases.2.events.2.user_id"),
        (22, 30, "test-identity", "cases.3.customer.anonymous_id"),
    }
    said = {d.message.split(": ", 1)[0]: d.message.split(": ", 1)[1] for d in raised.value.diagnostics}
    assert said["cases.0.customer.anonymous_id"].startswith("a customer is known (`id`) or an anonymous visitor (`anonymous_id`), not both")
    assert said["cases.0.events.0.user_id"] == "only an identify logs a visitor in: put `user_id` on an `event: identify`"
    assert said["cases.1.events.0.user_id"].startswith("logs an anonymous visitor in, but the customer has no `anonymous_id`")
    assert said["cases.2.events.0.user_id"] == "'anonymous:v-3': `anonymous:` begins anonymous profiles' ids, never a known customer's"
    assert said["cases.2.events.2.user_id"].startswith("the visitor logged in as 'u-4' (events[1]): an anonymous profile merges into one")


def test_a_user_id_of_the_wrong_type_is_the_schemas_to_report_once(tmp_path: Path) -> None:
    path = tmp_path / "typed.yaml"
    path.write_text(
        "journey: ../browse_abandonment.yaml\ncustomer: {anonymous_id: v-1}\ncases:\n"
        "  - name: a number\n    events:\n      - {at: 0, event: identify, user_id: 7}\n    expect: {}\n"
    )
    with pytest.raises(journey_tests.TestFileError) as raised:
        load_test_file(path)
    assert [(d.line, d.rule, d.message) for d in raised.value.diagnostics] == [
        (6, "test-schema", "cases.0.events.0.user_id: 7 is not of type 'string'")
    ]


def test_the_rules_are_one_list_for_both_commands() -> None:
    problems = script_problems({"anonymous_id": ""}, [{"at": 0, "event": "identify", "user_id": "u-1"}])
    assert [(p.where, p.message) for p in problems] == [(("customer", "anonymous_id"), "is the visitor's anonymousId: a non-empty string")]
    logins = [{"event": "identify", "user_id": "u-1"}, {"event": "identify", "user_id": "u-1"}]
    assert script_problems({"anonymous_id": "v-1"}, logins) == []  # logging in again as the same customer changes nothing


def simulate(tmp_path: Path, customer: str, events: str) -> tuple[int, str]:
    (tmp_path / "customer.json").write_text(customer)
    (tmp_path / "events.yaml").write_text(events)
    args = ["simulate", str(JOURNEYS / "browse_abandonment.yaml"), "--customer", str(tmp_path / "customer.json")]
    result = CliRunner().invoke(main, [*args, "--events", str(tmp_path / "events.yaml"), "--start", "2026-03-02T14:00:00Z"])
    return result.exit_code, result.output


def test_simulate_names_the_file_line_and_field_of_each_problem(tmp_path: Path) -> None:
    customer = '{\n  "id": "u-1",\n  "anonymous_id": "v-1"\n}\n'
    events = "- {at: 0, event: Product Viewed, user_id: u-2}\n- at: 1h\n  event: identify\n  user_id: 'anonymous:x'\n"
    code, output = simulate(tmp_path, customer, events)
    assert code == 2
    assert f"{tmp_path / 'customer.json'}:3:3: anonymous_id: a customer is known (`id`) or an anonymous visitor" in output
    assert f"{tmp_path / 'events.yaml'}:1:43: [0].user_id: only an identify logs a visitor in" in output
    assert f"{tmp_path / 'events.yaml'}:4:12: [1].user_id: 'anonymous:x': `anonymous:` begins" in output


def test_simulate_needs_an_id_or_an_anonymous_id(tmp_path: Path) -> None:
    code, output = simulate(tmp_path, json.dumps({"email": "maya@example.com"}), "")
    assert code == 2
    assert 'the customer has no "id"' in output and '{"anonymous_id": "v-1", ...} for an anonymous visitor' in output


def test_simulate_shows_the_login_on_the_timeline(tmp_path: Path) -> None:
    events = "- {at: 0, event: Product Viewed, properties: {name: Lamp}}\n- {at: 20m, event: identify, user_id: u-1}\n"
    code, output = simulate(tmp_path, json.dumps({"anonymous_id": "v-1"}), events)
    assert code == 0, output
    assert "2026-03-02T14:20:00Z  merged   anonymous visitor v-1 into customer u-1" in output.splitlines()


def test_journey_test_runs_a_copy_of_the_example_with_a_visitor(tmp_path: Path) -> None:
    shutil.copy(JOURNEYS / "browse_abandonment.yaml", tmp_path)
    shutil.copytree(JOURNEYS / "templates", tmp_path / "templates")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "broken.yaml").write_text(BROKEN)
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 1
    assert "tests/broken.yaml:7:49: error: cases.0.events.0.user_id: only an identify logs a visitor in" in result.output


def test_a_visitors_recorded_profile_is_theirs_until_the_login_and_the_known_customers_after(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    try:
        login = AT + timedelta(minutes=20)
        with store.session() as session:
            session.identify("anonymous:v-1", {"first_name": "Maya", "seen": "lamp"}, AT)
        with store.session(lock_customers=("anonymous:v-1", "u-1")) as session:
            merge_identity(session, "anonymous:v-1", "u-1", "m-1", login)
            session.identify("u-1", {"email": "maya@example.com"}, login)
        with store.read() as session:
            recorded = RecordedProfile.read(session, "anonymous:v-1")
    finally:
        store.dispose()
    before, after = recorded.profile_as_of(login - timedelta(seconds=1)), recorded.profile_as_of(login)
    assert before is not None and after is not None
    assert (before.customer_id, before.email, before.traits) == ("anonymous:v-1", None, {"first_name": "Maya", "seen": "lamp"})
    assert (after.customer_id, after.email, after.traits) == ("u-1", "maya@example.com", {"first_name": "Maya", "seen": "lamp"})
    assert [recorded.customer_id_as_of(login - timedelta(seconds=1)), recorded.customer_id_as_of(login)] == ["anonymous:v-1", "u-1"]
    # A journey's update before the login reached the visitor's profile, which the merge carried to the known one.
    updated = recorded.updated(AT + timedelta(minutes=5), {"seen": "chair"})
    assert [updated.profile_as_of(at).traits["seen"] for at in (AT, AT + timedelta(minutes=5), login)] == ["lamp", "chair", "chair"]  # type: ignore[union-attr]
