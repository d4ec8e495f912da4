"""Push through Firebase Cloud Messaging's HTTP v1 API, with the official SDK (`firebase-admin`).

One `messaging.send` per push token of the profile. A token FCM answers
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
from dataclasses import dataclass
from typing import Any

import firebase_admin
import requests
from firebase_admin import credentials, exceptions, messaging

from activities.messages import Message
from activities.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    PermanentFailure,
    ProviderResult,
    RetryableFailure,
    classify_status,
    message_reference,
)
from activities.providers.ratelimit import TokenBucket, shared_bucket

DEFAULT_BASE_URL = "https://fcm.googleapis.com"
DEFAULT_RATE = 500.0
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
        sent: list[str] = []
        unregistered: list[str] = []
        refusals: list[str] = []
        for token in tokens:
            self.bucket.acquire()
            try:
                sent.append(messaging.send(self.fcm_message(message, delivery_key, token), app=self.app))
            except messaging.UnregisteredError:
                unregistered.append(token)
            except exceptions.FirebaseError as exc:
                error = _classify(exc)
                if isinstance(error, RetryableFailure):
                    # Tokens that already took the message get it again on the retry: see docs/delivery.md.
                    raise RetryableFailure(error.reason, retry_after=error.retry_after, invalid_recipients=unregistered) from exc
                refusals.append(error.reason)
        if sent:
            return ProviderResult(sent[0], invalid_recipients=tuple(unregistered))
        reason = "; ".join(refusals) or f"every push token of the profile is unregistered ({len(unregistered)} removed)"
        raise PermanentFailure(reason, invalid_recipients=unregistered)


def _classify(exc: exceptions.FirebaseError) -> PermanentFailure | RetryableFailure:
    response = exc.http_response
    reason = f"FCM {exc.code}: {exc}"
    if response is not None:
        return classify_status(response.status_code, reason, response.headers)
    if exc.code in _RETRYABLE_CODES:
        return RetryableFailure(reason)
    return PermanentFailure(reason)
