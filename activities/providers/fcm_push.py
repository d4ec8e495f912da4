"""Push through Firebase Cloud Messaging's HTTP v1 API, with the official SDK (`firebase-admin`).

One `messaging.send` per push token of the profile; a batch of sends goes through
`messaging.send_each`, up to 500 tokens a call (the SDK makes one HTTP request per
token, concurrently). A token FCM answers
UNREGISTERED (the app was uninstalled) is reported back in `invalid_recipients`
and the send activity removes it from the profile; the message counts as sent
if at least one token took it.

The SDK has no public setting for the endpoint: FCM_BASE_URL replaces the
messaging service's `_fcm_url` (checked at start, so an SDK that renames it
fails loudly rather than sending to Google). The access token comes from the
service account's `token_uri`, so tests point that at a local fake too. The
SDK's own retries of 500/503 are switched off for the endpoint: Temporal's
activity retries (with backoff and Retry-After) are the one retry policy.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import firebase_admin
import requests
from firebase_admin import credentials, exceptions, messaging

from activities.messages import Message
from activities.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    PermanentFailure,
    ProviderError,
    ProviderResult,
    RetryableFailure,
    classify_status,
    message_reference,
)
from activities.providers.batches import Answer, Outgoing
from activities.providers.ratelimit import TokenBucket, shared_bucket

DEFAULT_BASE_URL = "https://fcm.googleapis.com"
DEFAULT_RATE = 500.0
SEND_EACH_LIMIT = 500
"""Messages per `messaging.send_each` call, the SDK's (and FCM's) limit."""
_RETRYABLE_CODES = {
    exceptions.DEADLINE_EXCEEDED,
    exceptions.UNAVAILABLE,
    exceptions.INTERNAL,
    exceptions.UNKNOWN,
    exceptions.RESOURCE_EXHAUSTED,
}


@dataclass(frozen=True)
class FcmSettings:
    service_account: dict[str, Any]
    """The service-account JSON (GOOGLE_APPLICATION_CREDENTIALS file or FCM_CREDENTIALS_JSON text)."""
    base_url: str = DEFAULT_BASE_URL
    rate_per_second: float = DEFAULT_RATE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def project_id(self) -> str:
        return str(self.service_account["project_id"])


class FcmPush:
    name = "fcm"
    batch_size = SEND_EACH_LIMIT

    def __init__(self, settings: FcmSettings, bucket: TokenBucket | None = None) -> None:
        self.settings = settings
        self.app = firebase_admin.initialize_app(
            credentials.Certificate(settings.service_account),
            {"projectId": settings.project_id, "httpTimeout": settings.timeout_seconds},
            name=f"journey-fcm-{uuid.uuid4().hex}",
        )
        service = messaging._get_messaging_service(self.app)
        if not hasattr(service, "_fcm_url") or not hasattr(service, "_client"):
            raise RuntimeError("this firebase-admin version has no _fcm_url/_client on its messaging service: update fcm_push.py")
        base = settings.base_url.rstrip("/")
        service._fcm_url = f"{base}/v1/projects/{settings.project_id}/messages:send"
        service._client.session.mount(base, requests.adapters.HTTPAdapter(pool_maxsize=32, max_retries=0))
        self.bucket = bucket or shared_bucket(f"fcm:{settings.project_id}", settings.rate_per_second)

    def describe(self) -> str:
        return f"fcm (project {self.settings.project_id}, {self.settings.base_url})"

    def close(self) -> None:
        firebase_admin.delete_app(self.app)

    def fcm_message(self, message: Message, delivery_key: str, token: str) -> messaging.Message:
        data = {"journey_message_id": message_reference(delivery_key)}
        if message.url:
            data["url"] = message.url
        notification = messaging.Notification(title=message.title, body=message.body)
        # Profiles hold registration tokens (what apps get from getToken()), which FCM v1 takes as `token`;
        # firebase-admin 7.7 steers towards installation ids (`fid`), a different kind of id, with a warning.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
            return messaging.Message(token=token, notification=notification, data=data)

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        tokens = list(recipients) or [message.to]
        pushes = _Pushes()
        for token in tokens:
            self.bucket.acquire()
            try:
                pushes.sent.append(messaging.send(self.fcm_message(message, delivery_key, token), app=self.app))
            except exceptions.FirebaseError as exc:
                pushes.failed(token, exc)
                if pushes.retryable is not None:
                    break  # the rest of the tokens wait for the retry, which sends to every token again
        answer = pushes.answer()
        if isinstance(answer, ProviderError):
            raise answer
        return answer

    def send_batch(self, items: Sequence[Outgoing]) -> list[Answer]:
        """`messaging.send_each` over every push token of the items, up to `batch_size` per call; each item answered
        from its own tokens' responses as `send` would answer it."""
        tokens = [(n, token) for n, item in enumerate(items) for token in (item.recipients or (item.message.to,))]
        pushes = [_Pushes() for _ in items]
        for first in range(0, len(tokens), self.batch_size):
            chunk = tokens[first : first + self.batch_size]
            self.bucket.acquire(len(chunk))
            batch = [self.fcm_message(items[n].message, items[n].delivery_key, token) for n, token in chunk]
            try:
                responses = messaging.send_each(batch, app=self.app).responses
            except exceptions.FirebaseError as exc:  # the call as a whole failed: no token of it took the message
                for n, token in chunk:
                    pushes[n].failed(token, exc)
                continue
            for (n, token), response in zip(chunk, responses, strict=True):
                if response.success:
                    pushes[n].sent.append(response.message_id)
                else:
                    pushes[n].failed(token, response.exception)
        return [each.answer() for each in pushes]


@dataclass
class _Pushes:
    """What FCM answered for the tokens of one message, and the message's answer from it.

    Sent if any token took it (the first one's message name), with the tokens FCM says are
    unregistered; retried if a token failed retryably (tokens that already took the message get it
    again on the retry: see docs/delivery.md); otherwise refused with every token's reason.
    """

    sent: list[str] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    retryable: RetryableFailure | None = None

    def failed(self, token: str, exc: exceptions.FirebaseError) -> None:
        if isinstance(exc, messaging.UnregisteredError):
            self.unregistered.append(token)
            return
        error = _classify(exc)
        if isinstance(error, RetryableFailure):
            self.retryable = self.retryable or error
        else:
            self.refusals.append(error.reason)

    def answer(self) -> Answer:
        if self.retryable is not None:
            error = self.retryable
            return RetryableFailure(error.reason, retry_after=error.retry_after, invalid_recipients=self.unregistered)
        if self.sent:
            return ProviderResult(self.sent[0], invalid_recipients=tuple(self.unregistered))
        reason = "; ".join(self.refusals) or f"every push token of the profile is unregistered ({len(self.unregistered)} removed)"
        return PermanentFailure(reason, invalid_recipients=self.unregistered)


def _classify(exc: exceptions.FirebaseError) -> PermanentFailure | RetryableFailure:
    response = exc.http_response
    reason = f"FCM {exc.code}: {exc}"
    if response is not None:
        return classify_status(response.status_code, reason, response.headers)
    if exc.code in _RETRYABLE_CODES:
        return RetryableFailure(reason)
    return PermanentFailure(reason)
