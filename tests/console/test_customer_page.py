"""The customer pages as a browser gets them: search, one customer's page, the 404, the export download."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from orchestrator.store import Store
from orchestrator.store.identities import merge_identity
from orchestrator.store.values import DeliveryKey, OutboxMessage
from tests.console.customer_scenario import ANN, HOSTILE_BODY, HOSTILE_SUBJECT, at, client, new_store, write_ann

ANN_PAGE = "/console/customers/ann%2Fshop%40example"


class Tags(HTMLParser):
    """Every start tag of a page with its attributes (entities decoded, as a browser reads them)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def with_testid(self, testid: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if attrs.get("data-testid") == testid]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = new_store(tmp_path)
    try:
        yield store
    finally:
        store.dispose()


async def get(store: Store, url: str) -> httpx.Response:
    async with client(store) as http:
        return await http.get(url)


async def test_the_customer_page_shows_consent_enrollments_and_the_timeline(store: Store) -> None:
    write_ann(store)
    page = await get(store, ANN_PAGE)

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    tags = Tags(page.text)
    assert [attrs["data-kind"] for attrs in tags.with_testid("timeline-entry")] == [
        "ended", "provider", "message", "message", "step", "step", "entered", "event", "event"
    ]  # fmt: skip
    assert "Email sent: Your cart is waiting" in page.text and "SMS suppressed: no consent for sms" in page.text
    assert 'data-testid="message-opens">2<' in page.text and 'data-testid="message-clicks">1<' in page.text
    assert {attrs["href"] for attrs in tags.named("a")} >= {"/console/journeys/abandoned_cart"}
    assert "✓ opted in" in page.text and "id-1" in page.text  # e-mail consent, with the identify call that gave it
    assert "tok-1" not in page.text and 'data-testid="push-tokens">1<' in page.text
    assert not tags.with_testid("older-not-shown")


async def test_a_hostile_subject_and_body_stay_inert(store: Store) -> None:
    write_ann(store, subject=HOSTILE_SUBJECT, body=HOSTILE_BODY)
    page = await get(store, ANN_PAGE)

    tags = Tags(page.text)
    assert [attrs["src"] for attrs in tags.named("script")] == ["/console/static/htmx.min.js"]  # the console's own only
    assert not [tag for tag, attrs in tags.tags if any(name.startswith("on") for name in attrs)]
    assert not tags.named("img")
    (frame,) = tags.named("iframe")
    assert frame["sandbox"] == "" and "srcdoc" not in frame  # the body is only the sandboxed frame's document
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "alert(3)" not in page.text

    preview = await get(store, str(frame["src"]))
    assert preview.status_code == 200 and preview.text == HOSTILE_BODY and preview.headers["cache-control"] == "no-store"
    policy = preview.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy  # no script runs, even without the sandbox
    assert "style-src 'unsafe-inline'" in policy and "img-src data:" in policy  # its own styles; no remote image (no open counted)


async def test_a_preview_shows_only_an_email_of_that_customer(store: Store) -> None:
    write_ann(store)
    with store.read() as session:
        (sent,) = [m for m in session.messages_for(ANN) if m.channel == "email"]
    assert (await get(store, f"/console/message-preview?id=ann%2Fshop%40example&message={sent.id}")).status_code == 200
    others = (f"/console/message-preview?id=someone-else&message={sent.id}", "/console/message-preview?id=ann%2Fshop%40example&message=999")
    for url in others:
        missing = await get(store, url)
        assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store", url


async def test_a_visitor_who_logged_in_is_on_the_customer_s_page_and_their_old_id_leads_there(store: Store) -> None:
    write_ann(store)
    with store.session() as session:
        session.identify("anonymous:v-1", {"plan": "trial"}, at(1))
        merge_identity(session, "anonymous:v-1", ANN, "login-1", at(2))
    moved = await get(store, "/console/customers/anonymous%3Av-1")
    assert moved.status_code == 303 and moved.headers["location"] == ANN_PAGE
    page = await get(store, ANN_PAGE)
    merged = [attrs for attrs in Tags(page.text).with_testid("timeline-entry") if attrs["data-kind"] == "merged"]
    assert len(merged) == 1 and "Merged the anonymous visitor v-1" in page.text and "login-1" in page.text


async def test_an_unknown_customer_is_a_404_that_says_how_customers_appear(store: Store) -> None:
    write_ann(store)
    page = await get(store, "/console/customers/nobody%40example.com")

    assert page.status_code == 404 and page.headers["cache-control"] == "no-store"
    assert Tags(page.text).with_testid("customer-missing")
    assert "No customer “nobody@example.com”" in page.text and "/v1/identify" in page.text


@pytest.mark.parametrize(
    ("typed", "location"),
    [
        (ANN, ANN_PAGE),
        ("  ann/shop@example ", ANN_PAGE),
        ("a b?c#d", "/console/customers/a%20b%3Fc%23d"),
    ],
)
async def test_the_search_form_redirects_to_the_customer_s_page(store: Store, typed: str, location: str) -> None:
    write_ann(store)
    async with client(store) as http:
        answer = await http.get("/console/customers", params={"id": typed})
        assert (answer.status_code, answer.headers["location"]) == (303, location)
        assert answer.headers["cache-control"] == "no-store"
        if typed.strip() == ANN:
            followed = await http.get(answer.headers["location"])
            assert followed.status_code == 200 and 'data-testid="customer-id">ann/shop@example<' in followed.text


async def test_the_search_page_explains_what_a_customer_id_is(store: Store) -> None:
    for url in ("/console/customers", "/console/customers?id=", "/console/customers?id=%20"):
        page = await get(store, url)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert Tags(page.text).with_testid("customer-search") and "userId" in page.text


async def test_the_timeline_shows_the_newest_200_and_links_the_export_for_the_rest(store: Store) -> None:
    write_ann(store)
    with store.session() as session:
        for n in range(250):
            session.record_event(f"view-{n}", ANN, "page_viewed", {"n": n}, at(10 + n), at(10 + n))
    async with client(store) as http:
        page = await http.get(ANN_PAGE)
        tags = Tags(page.text)
        assert len(tags.with_testid("timeline-entry")) == 200
        assert "Older entries not shown: 59." in page.text
        download = await http.get("/console/customer-export", params={"id": ANN})

    assert "/console/customer-export?id=ann%2Fshop%40example" in {attrs["href"] for attrs in tags.named("a")}
    assert download.status_code == 200 and download.headers["cache-control"] == "no-store"
    assert download.headers["content-disposition"].startswith("attachment")
    assert len(download.json()["events"]) == 252  # identify, checkout_started and the 250 views


async def test_a_push_message_s_device_token_is_not_on_the_page(store: Store) -> None:
    write_ann(store)
    with store.session() as session:
        key = DeliveryKey("cart-ann", "nudge", 1)
        session.claim_delivery(key, "push", at(8), customer_id=ANN, journey_id="abandoned_cart", category="marketing")
        session.mark_delivery(key, "sent", at(8), provider_message_id="fcm-1")
        push = OutboxMessage(ANN, "cart-ann", "abandoned_cart", "v1", "nudge", "push", "tok-1", "Still?", "Saved.", at(8))
        session.add_outbox_message(push)
    page = await get(store, ANN_PAGE)

    assert "Push sent: Still?" in page.text and "As sent to their devices" in page.text
    assert "tok-1" not in page.text


async def test_a_suppressed_message_shows_why_and_no_opens_or_clicks(store: Store) -> None:
    write_ann(store)
    page = await get(store, ANN_PAGE)

    assert 'data-testid="message-status">SMS: suppressed<' in page.text
    assert len(Tags(page.text).with_testid("message-opens")) == 1  # the e-mail's only: nothing went out by SMS
