"""Email through SendGrid's v3 mail send, with the official SDK (`sendgrid.SendGridAPIClient`).

Each message carries an opaque `journey_message_id` (a hash of the ledger key) in
`custom_args`, so SendGrid's event webhook can be matched to the delivery ledger
without any PII; the message's category (marketing, transactional) becomes a
SendGrid category for its statistics. The plain-text part goes before the HTML
one, as SendGrid requires.

A batch of sends shares requests (`send_batch`): up to 1,000 messages per request, one
personalization each (its recipient, subject, List-Unsubscribe headers and `journey_message_id`),
under SendGrid's rules: each address at most once per request, one category per request. Messages
whose content is the same share it; messages whose content differs (a name, the signed unsubscribe
link) carry their HTML and text as substitutions of the personalization, which SendGrid limits to
10,000 bytes per personalization (the Mail Send reference; its Substitution Tags page says 50,000:
the lower holds): a larger one goes in a request of its own. SendGrid takes or refuses a request
whole, so after a 400 each message of it is sent alone, to learn which one was refused; after a
429, a 5xx or a timeout every message of it is retried (none was accepted).

The request body is built as the v3 JSON directly (`SendGridEmail.body`), the same
body the SDK's `Mail` helper makes (tests/activities/providers/test_providers.py
compares the two): the helper's objects cost more than the rest of building the
request, most of it parsing the sender's address again on every send.
"""

from __future__ import annotations

import json
import re
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import From, To
from sendgrid.helpers.mail.validators import ValidateApiKey

from activities.messages import Message
from activities.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    PermanentFailure,
    ProviderResult,
    RetryableFailure,
    classify_status,
    message_reference,
)
from activities.providers.batches import Answer, Outgoing, send_one
from activities.providers.ratelimit import TokenBucket, shared_bucket

DEFAULT_HOST = "https://api.sendgrid.com"
DEFAULT_RATE = 100.0
PERSONALIZATIONS_LIMIT = 1000
"""Personalizations (and recipients) per mail send request."""
SUBSTITUTIONS_LIMIT = 10_000
"""Bytes of substitutions (tags and values) per personalization."""
HTML_TAG = "%journey_html_part%"
TEXT_TAG = "%journey_text_part%"
"""Where a personalization's own HTML and text go when the messages of a request differ."""
_API_KEY_CHECK = ValidateApiKey()
"""The check the SDK's `Content` makes: refuse a part that begins with a SendGrid API key."""
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
"""An ASCII dot-atom address, which the SDK's `To` parses into itself alone; anything else goes through `To`."""


@dataclass(frozen=True)
class SendGridSettings:
    api_key: str
    sender: str
    """SENDGRID_FROM: `news@shop.example` or `Shop <news@shop.example>`."""
    host: str = DEFAULT_HOST
    rate_per_second: float = DEFAULT_RATE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, settings: SendGridSettings, bucket: TokenBucket | None = None) -> None:
        self.settings = settings
        self.client = SendGridAPIClient(api_key=settings.api_key, host=settings.host.rstrip("/"))
        self.bucket = bucket or shared_bucket(f"sendgrid:{message_reference(settings.api_key)}", settings.rate_per_second)
        self._sender: dict[str, Any] = From(settings.sender).get()

    def describe(self) -> str:
        return f"sendgrid ({self.settings.host})"

    def body(self, message: Message, delivery_key: str, to: str) -> dict[str, Any]:
        """The v3 mail send body for `message`: what the SDK's `Mail` helper's `get()` gives, keys in the same order."""
        content = [{"type": "text/html", "value": _checked(message.body)}]
        if message.text:
            content.insert(0, {"type": "text/plain", "value": _checked(message.text)})
        body: dict[str, Any] = {
            "from": dict(self._sender),
            "subject": message.subject or "",
            "personalizations": [{"to": [{"email": to} if _PLAIN_ADDRESS.fullmatch(to) else To(to).get()]}],
            "content": content,
        }
        if message.headers:
            body["headers"] = dict(message.headers)
        if message.category:
            body["categories"] = [message.category]
        body["custom_args"] = {"journey_message_id": message_reference(delivery_key)}
        return body

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        return self._post(self.body(message, delivery_key, recipients[0] if recipients else message.to))

    def _post(self, body: dict[str, Any]) -> ProviderResult:
        self.bucket.acquire()
        try:
            response = self.client.client.mail.send.post(request_body=body, timeout=self.settings.timeout_seconds)
        except http_errors.HTTPError as exc:
            raise classify_status(exc.status_code, _reason(exc.body), exc.headers) from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            raise RetryableFailure(f"sendgrid unreachable: {exc}") from exc
        return ProviderResult(response.headers.get("X-Message-Id") or "")

    batch_size = PERSONALIZATIONS_LIMIT

    def send_batch(self, items: Sequence[Outgoing]) -> list[Answer]:
        """As few requests as SendGrid's rules allow (the module's docstring); every message answered as `send` would."""
        answers: list[Answer | None] = [None] * len(items)
        for group, substituted in _requests(items, self.batch_size):
            if len(group) == 1:
                answers[group[0]] = send_one(self, items[group[0]])
                continue
            try:
                accepted: Answer = self._post(self.batch_body([items[n] for n in group], substituted))
            except PermanentFailure:
                # Refused whole, so nothing of it went: each message alone learns whether it was the one.
                for n in group:
                    answers[n] = send_one(self, items[n])
                continue
            except RetryableFailure as exc:
                accepted = exc
            for n in group:
                answers[n] = accepted
        return [answer for answer in answers if answer is not None]

    def batch_body(self, items: Sequence[Outgoing], substituted: bool) -> dict[str, Any]:
        """One request for `items` (distinct addresses, one category): their shared content, or each one's as substitutions."""
        first = items[0].message
        html, text = (HTML_TAG, TEXT_TAG if first.text else None) if substituted else (first.body, first.text)
        content = [{"type": "text/html", "value": _checked(html)}]
        if text:
            content.insert(0, {"type": "text/plain", "value": _checked(text)})
        personalizations = []
        for item in items:
            message = item.message
            personalization: dict[str, Any] = {"to": [self._recipient(item)], "subject": message.subject or ""}
            if message.headers:
                personalization["headers"] = dict(message.headers)
            if substituted:
                personalization["substitutions"] = {tag: _checked(value) for tag, value in _substitutions(message).items()}
            personalization["custom_args"] = {"journey_message_id": message_reference(item.delivery_key)}
            personalizations.append(personalization)
        body: dict[str, Any] = {"from": dict(self._sender), "personalizations": personalizations, "content": content}
        if first.category:
            body["categories"] = [first.category]
        return body

    @staticmethod
    def _recipient(item: Outgoing) -> dict[str, Any]:
        to = item.recipients[0] if item.recipients else item.message.to
        return {"email": to} if _PLAIN_ADDRESS.fullmatch(to) else To(to).get()


def _requests(items: Sequence[Outgoing], limit: int) -> list[tuple[list[int], bool]]:
    """The items' indices grouped into requests, each with whether its messages' content goes as substitutions.

    Messages of the same category and content share it; the others of a category share requests
    through substitutions if theirs fit SendGrid's limit, else go alone. Within a request every
    address is distinct and there are at most `limit` messages.
    """
    by_content: dict[tuple[str, str, str | None], list[int]] = {}
    for n, item in enumerate(items):
        message = item.message
        by_content.setdefault((message.category, message.body, message.text), []).append(n)
    requests: list[tuple[list[int], bool]] = []
    by_category: dict[tuple[str, bool], list[int]] = {}
    for (category, _, text), indices in by_content.items():
        if len(indices) > 1:
            requests.extend((group, False) for group in _distinct_addresses(items, indices, limit))
        elif _substitutable(items[indices[0]].message):
            by_category.setdefault((category, text is not None), []).append(indices[0])
        else:
            requests.append((indices, False))
    for indices in by_category.values():
        requests.extend((group, len(group) > 1) for group in _distinct_addresses(items, indices, limit))
    return requests


def _distinct_addresses(items: Sequence[Outgoing], indices: list[int], limit: int) -> list[list[int]]:
    """`indices` in groups of at most `limit` whose addresses are distinct (SendGrid refuses a request naming one twice)."""
    groups: list[tuple[list[int], set[str]]] = []
    for n in indices:
        item = items[n]
        address = (item.recipients[0] if item.recipients else item.message.to).lower()
        group = next((g for g in groups if len(g[0]) < limit and address not in g[1]), None)
        if group is None:
            group = ([], set())
            groups.append(group)
        group[0].append(n)
        group[1].add(address)
    return [group for group, _ in groups]


def _substitutions(message: Message) -> dict[str, str]:
    """The message's HTML and text under their tags."""
    return {HTML_TAG: message.body, **({TEXT_TAG: message.text} if message.text else {})}


def _substitutable(message: Message) -> bool:
    """Whether the message's content can go as substitutions: within SendGrid's size limit, and naming no tag itself."""
    parts = [message.body, message.text or "", message.subject or ""]
    if any(tag in part for part in parts for tag in (HTML_TAG, TEXT_TAG)):
        return False
    size = sum(len(tag.encode()) + len(value.encode()) for tag, value in _substitutions(message).items())
    return size <= SUBSTITUTIONS_LIMIT


def _checked(text: str) -> str:
    """`text`, unless it begins with a SendGrid API key (ApiKeyIncludedException, as the SDK's `Content` raises)."""
    _API_KEY_CHECK.validate_message_text(text)
    return text


def _reason(body: bytes | str | None) -> str:
    """SendGrid's error text (`{"errors": [{"message": ...}]}`), shortened; raw text otherwise."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        errors = json.loads(text).get("errors") or []
        messages = [e.get("message", "") for e in errors if isinstance(e, dict)]
        if messages:
            return "; ".join(messages)[:300]
    except (ValueError, AttributeError):
        pass
    return text[:300]
