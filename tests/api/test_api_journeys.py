"""GET /v1/journeys and GET /v1/journeys/{id}/stats: the list, the report, and the errors that name what was wrong.

The counts are the store's business (its fold of the journey facts is tested with the store); here the
session's `journey_counts` is replaced by one that records what it was asked and answers hand-made
counts, so these tests see exactly what the endpoints do with a request and with counts. No Temporal:
the API starts on a lazy client nobody listens to, and these endpoints never call it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner, Result
from temporalio.client import Client
from temporalio.service import RetryConfig

from orchestrator import ir
from orchestrator.analytics.counts import GroupCounts, JourneyCounts, SplitCounts, StepCounts
from orchestrator.api import create_app
from orchestrator.cli import main
from orchestrator.host.devserver import free_port
from orchestrator.store import Store, StoreSession
from tests.api.support import API_KEY, compiled, running_app
from tests.keys import HASH_SECRET

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEPLOYED_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ONBOARDING = """
id: onboarding
name: Onboarding
trigger: {event: signed_up}
goal: {event: activated, within: 3d}
steps:
  - id: pick
    split:
      paths:
        - {name: a, weight: 45, next: hello}
        - {name: b, weight: 45, next: hello}
      holdout: 10
  - id: hello
    send: {channel: email, subject: "Hello", body: "<p>Hello</p>"}
"""


@dataclass
class FakeCounts:
    """Stands in for the store's fold: records each call, answers counts with `entered` per version counted."""

    calls: list[tuple[str, tuple[str, ...], date | None, date | None]] = field(default_factory=list)

    def __call__(
        self, journeys: Sequence[ir.Journey], *, first_day: date | None, last_day: date | None, now: datetime
    ) -> JourneyCounts:
        versions = tuple(journey.version for journey in journeys)
        self.calls.append((journeys[0].id, versions, first_day, last_day))
        split = SplitCounts("pick", (GroupCounts("a", 10, 8, 2), GroupCounts("b", 10, 9, 3), GroupCounts("holdout", 2, 2, 0)))
        return JourneyCounts(
            journey=journeys[0].id, versions=versions, first_day=first_day, last_day=last_day,
            entered=22 * len(versions), customers=20, waiting=3, completed=12, exited=1, holdout=2, failed=0, converted=5, matured=19,
            steps=(StepCounts("pick", 22, 0), StepCounts("hello", 20, 0)), splits=(split,) if journeys[0].id == "onboarding" else (),
        )  # fmt: skip


@dataclass
class Api:
    http: httpx.AsyncClient
    store: Store
    counts: FakeCounts
    versions: list[str]


async def unreachable_temporal() -> Client:
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True, retry_config=RetryConfig(max_retries=0))


@pytest_asyncio.fixture(loop_scope="session")
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """Two versions of onboarding (the second active), and a deactivated journey."""
    counts = FakeCounts()
    monkeypatch.setattr(StoreSession, "journey_counts", lambda _session, journeys, **when: counts(journeys, **when), raising=False)
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}", HASH_SECRET)
    store.migrate()
    first, second = compiled(ONBOARDING), compiled(ONBOARDING.replace("Hello", "Welcome"))
    retired = compiled(ONBOARDING.replace("id: onboarding", "id: retired").replace("name: Onboarding", "name: Retired"))
    with store.session() as session:
        session.deploy(first, DEPLOYED_AT)
        session.deploy(second, datetime(2026, 3, 8, tzinfo=UTC))
        session.deploy(retired, DEPLOYED_AT)
        session.deactivate("retired")
    app = create_app(
        store, unreachable_temporal, api_keys=frozenset({API_KEY}), hash_secret=HASH_SECRET, task_queue="unused", search_attributes=False
    )
    try:
        async with running_app(app, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
            yield Api(http, store, counts, [first.version, second.version])
    finally:
        store.dispose()


async def test_the_list_shows_every_journey_with_its_active_version_and_all_time_counts(api: Api) -> None:
    answer = await api.http.get("/v1/journeys")
    assert answer.status_code == 200, answer.text
    onboarding, retired = answer.json()["journeys"]
    assert onboarding == {
        "id": "onboarding", "name": "Onboarding", "active_version": api.versions[1], "deployed_at": "2026-03-08T00:00:00+00:00",
        "versions": 2, "entered": 44, "converted": 5, "waiting": 3,
    }  # fmt: skip
    assert (retired["id"], retired["active_version"], retired["deployed_at"]) == ("retired", None, "2026-03-01T09:00:00+00:00")
    assert ("onboarding", tuple(api.versions), None, None) in api.counts.calls  # all time, every version


async def test_stats_default_to_all_time_and_every_version(api: Api) -> None:
    answer = await api.http.get("/v1/journeys/onboarding/stats")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert api.counts.calls == [("onboarding", tuple(api.versions), None, None)]
    assert (document["journey"], document["from"], document["to"], document["versions"]) == ("onboarding", None, None, api.versions)
    assert document["totals"]["entered"] == 44
    assert document["conversion"]["matured"] == 19 and document["conversion"]["maturing"] == 25
    (split,) = document["splits"]
    assert split["control"] == "holdout" and [arm["arm"] for arm in split["arms"]] == ["a", "b", "holdout"]
    assert [step["step"] for step in document["steps"]] == ["pick", "hello"]
    assert set(document) >= {"journey", "from", "to", "totals", "conversion", "steps", "splits", "metrics", "daily"}


async def test_stats_of_one_version_over_a_range_of_days(api: Api) -> None:
    params = {"from": "2026-03-01", "to": "2026-03-07", "version": api.versions[0]}
    answer = await api.http.get("/v1/journeys/onboarding/stats", params=params)
    assert answer.status_code == 200, answer.text
    assert api.counts.calls == [("onboarding", (api.versions[0],), date(2026, 3, 1), date(2026, 3, 7))]
    document = answer.json()
    assert (document["from"], document["to"], document["versions"]) == ("2026-03-01", "2026-03-07", [api.versions[0]])


async def test_an_unknown_journey_is_404_naming_it(api: Api) -> None:
    answer = await api.http.get("/v1/journeys/nope/stats")
    assert answer.status_code == 404
    assert answer.json() == {"error": "not_found", "message": "no journey 'nope' has been deployed (`journey deploy` it first)"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-3-1"}, "from", "'2026-3-1' is not a day: write it YYYY-MM-DD, like 2026-03-01 (UTC)"),
        ({"to": "yesterday"}, "to", "'yesterday' is not a day: write it YYYY-MM-DD, like 2026-03-01 (UTC)"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "from", "2026-03-09 is after to (2026-03-01): the range would be empty"),
        ({"version": "0000"}, "version", "'onboarding' has no version '0000'; deployed: "),
    ],
)
async def test_a_bad_request_is_422_naming_the_field(api: Api, params: dict[str, str], field: str, message: str) -> None:
    answer = await api.http.get("/v1/journeys/onboarding/stats", params=params)
    assert answer.status_code == 422, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] == "invalid_query"
    ((error),) = body["errors"]
    assert error["field"] == field and error["message"].startswith(message)
    assert api.counts.calls == []  # refused before anything was counted


async def test_both_endpoints_need_the_api_key(api: Api) -> None:
    for path in ("/v1/journeys", "/v1/journeys/onboarding/stats"):
        assert (await api.http.get(path, headers={"Authorization": ""})).status_code == 401
        assert (await api.http.get(path, headers={"Authorization": "Bearer wrong"})).status_code == 401


async def test_the_schema_documents_the_stats_errors(api: Api) -> None:
    schema = (await api.http.get("/openapi.json")).json()
    responses = schema["paths"]["/v1/journeys/{journey_id}/stats"]["get"]["responses"]
    assert {"200", "404", "422"} <= set(responses)
    assert "422" not in schema["paths"]["/v1/track"]["post"]["responses"]  # bodies are still refused as 400, not 422


def journey_stats(api: Api, *args: str) -> Result:
    """`journey stats ARGS` on the API's store, as an operator with the worker's DATABASE_URL runs it."""
    return CliRunner().invoke(main, ["stats", *args], env={"DATABASE_URL": api.store.url, "COLUMNS": "100"})


async def test_journey_stats_json_is_the_apis_document(api: Api) -> None:
    args = {"from": "2026-03-01", "to": "2026-03-07", "version": api.versions[0]}
    from_api = (await api.http.get("/v1/journeys/onboarding/stats", params=args)).json()
    printed = journey_stats(api, "onboarding", "--from", args["from"], "--to", args["to"], "--version", args["version"], "--format", "json")
    assert printed.exit_code == 0, printed.output
    assert {**json.loads(printed.output), "as_of": None} == {**from_api, "as_of": None}

    listed = journey_stats(api, "--format", "json")
    assert json.loads(listed.output) == (await api.http.get("/v1/journeys")).json()


async def test_journey_stats_reads_as_a_funnel_in_the_terminal_and_as_tables_in_markdown(api: Api) -> None:
    text = journey_stats(api, "onboarding")
    assert text.exit_code == 0, text.output
    assert text.output.startswith("onboarding · Onboarding\n")
    assert "Funnel (reached, of entered)" in text.output and "█" in text.output
    assert "Split pick (control: holdout)" in text.output
    assert "Verdict: too few matured enrollments: 2 of the 500 per arm needed" in text.output
    assert all(len(line) <= 100 for line in text.output.split("Funnel (reached, of entered)\n")[1].split("\n\n")[0].splitlines())

    markdown = journey_stats(api, "onboarding", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert markdown.output.startswith("### Journey `onboarding`: Onboarding\n")
    assert "**too few matured enrollments: 2 of the 500 per arm needed**" in markdown.output and "█" not in markdown.output


async def test_journey_stats_without_an_id_lists_every_journey(api: Api) -> None:
    listed = journey_stats(api)
    assert listed.exit_code == 0, listed.output
    header, onboarding, retired = listed.output.splitlines()
    assert header.split()[:2] == ["journey", "name"]
    assert onboarding.split() == ["onboarding", "Onboarding", api.versions[1], "2026-03-08", "00:00", "2", "44", "5", "3"]
    assert retired.split()[:3] == ["retired", "Retired", "(deactivated)"]


async def test_journey_stats_says_what_was_wrong_and_exits_1(api: Api) -> None:
    unknown = journey_stats(api, "nope")
    assert (unknown.exit_code, unknown.output) == (1, "no journey 'nope' has been deployed (`journey deploy` it first)\n")
    backwards = journey_stats(api, "onboarding", "--from", "2026-03-09", "--to", "2026-03-01")
    assert (backwards.exit_code, backwards.output) == (1, "from: 2026-03-09 is after to (2026-03-01): the range would be empty\n")
