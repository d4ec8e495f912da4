"""How each setting is read: the reader that collects every problem at once, the value parsers, and one reader per group of variables.

`orchestrator/host/settings.py` composes them into each process's settings and hands them the
environment (it stays the only module that reads it); a problem names its variable and what to
write instead, and one `SettingsError` reports them all.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from activities.delivery_gate import CAP_VARIABLE, DEFAULT_RETRY_WINDOW, DeliveryPolicy
from activities.providers import ProviderSettings, fcm_push, sendgrid_email, twilio_sms
from activities.providers.base import DEFAULT_TIMEOUT_SECONDS
from activities.providers.fcm_push import FcmSettings
from activities.providers.sendgrid_email import SendGridSettings
from activities.providers.twilio_sms import TwilioSettings
from orchestrator.api.auth import KEYS_VARIABLE
from orchestrator.api.state import ApiSettings
from orchestrator.console.access import PASSWORD_VARIABLE, REPO_URL_VARIABLE, ConsoleSettings
from orchestrator.host.logs import FORMATS
from orchestrator.host.ops_server import DEFAULT_WORKER_HTTP, WORKER_HTTP_VARIABLE, OpsAddress, parse_ops_address
from orchestrator.host.temporal_connection import CALL_TIMEOUT, SHUTDOWN_GRACE, TemporalSettings
from orchestrator.host.variables import (
    CODEC_ORIGINS,
    HASH_SECRET,
    NAMES,
    PAYLOAD_KEYS,
    RETENTION,
    RETENTION_DEFAULTS,
    RETRY_WINDOW,
    UNSUBSCRIBE_SECRET,
)
from orchestrator.language.timeparse import parse_duration
from orchestrator.personalization.unsubscribe import DEV_PUBLIC_URL, DEV_SECRET, UnsubscribeConfig
from orchestrator.privacy.keyed_hash import MIN_SECRET_BYTES, HashSecret
from orchestrator.privacy.payload_codec import KEYS_FORMAT, PayloadKeys
from orchestrator.store import PoolSize
from orchestrator.store.retention import RetentionPolicy
from orchestrator.webhooks.sendgrid_signature import DEFAULT_MAX_AGE_SECONDS, PUBLIC_KEY_VARIABLE, SendGridWebhookSettings
from orchestrator.webhooks.twilio_signature import AUTH_TOKEN_VARIABLE, PUBLIC_URL_VARIABLE, TwilioWebhookSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
_TEMPORAL = TemporalSettings()


class SettingsError(ValueError):
    """Variables a process cannot use: each problem names its variable and what to write instead."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        many = f"{len(self.problems)} environment variables cannot be used:\n  " + "\n  ".join(self.problems)
        super().__init__(self.problems[0] if len(self.problems) == 1 else many)


class Reader:
    """Reads variables of the table from one environment, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def text(self, name: str) -> str | None:
        """The value of `name`; None when it is unset or empty."""
        if name not in NAMES:
            raise KeyError(f"{name} is not in the table of variables (orchestrator/host/variables.py): add it there and to docs/deploy.md")
        return self.env.get(name) or None

    def parsed(self, name: str, parse: Callable[[str], T], default: T) -> T:
        """`parse` of the value, or `default` when it is unset; a ValueError of `parse` says what to write."""
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            self.problem(f"{name}={raw!r}: {exc}")
            return default

    def prefixed(self, name: str) -> dict[str, str]:
        """`{NAME: value}` of every variable `PREFIX_NAME`, for the table's `PREFIX_<NAME>`."""
        if name not in NAMES:
            raise KeyError(f"{name} is not in the table of variables (orchestrator/host/variables.py)")
        prefix = name.removesuffix("<NAME>")
        return {key[len(prefix) :]: self.env[key] for key in self.env if key.startswith(prefix)}

    def problem(self, text: str) -> None:
        if text not in self.problems:  # a variable two parts read is reported once
            self.problems.append(text)

    def done(self, settings: T) -> T:
        """`settings`, if every value could be used; else a SettingsError naming each problem."""
        if self.problems:
            raise SettingsError(self.problems)
        for warning in dict.fromkeys(self.warnings):
            log.warning("%s", warning)
        return settings


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError("write a positive number, e.g. 10 or 2.5")
    return value


def _seconds(text: str) -> int:
    if not text.isdigit():
        raise ValueError("write a number of seconds, e.g. 300")
    return int(text)


def _switch(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "0"):
        return False
    raise ValueError("write true or false")


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("write a URL with its scheme and host, e.g. https://journeys.shop.example")
    return text


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise ValueError("no such file: write the path of the PEM file")
    return path


def _daily_cap(text: str) -> int | None:
    """'3/day' (also '3/d', '3 per day') as 3; '' or 'none' as None."""
    cleaned = text.strip().lower()
    if cleaned in ("", "none", "off"):
        return None
    match = re.fullmatch(r"(\d+)\s*(?:/|per)\s*(?:day|d)", cleaned)
    if not match or int(match.group(1)) < 1:
        raise ValueError("write the daily cap as '<n>/day' with n >= 1, e.g. '3/day' (or 'none')")
    return int(match.group(1))


def delivery_policy(reader: Reader) -> DeliveryPolicy:
    daily_cap = reader.parsed(CAP_VARIABLE, _daily_cap, None)
    window = (reader.text(RETRY_WINDOW) or "").strip()
    retry_window = DEFAULT_RETRY_WINDOW
    if window:
        try:
            retry_window = timedelta(seconds=parse_duration(window))
        except ValueError as exc:  # its message quotes the value and says how to write one
            reader.problem(f"{RETRY_WINDOW}: {exc}")
    return DeliveryPolicy(daily_cap=daily_cap, retry_window=retry_window)


def unsubscribe_config(reader: Reader, *, default_url: str = DEV_PUBLIC_URL, warn: bool = False) -> UnsubscribeConfig:
    """The links' signing key and address. Only `journey api` warns of the development key (`warn`): it is
    where a forged link would change a real customer's consent. A worker or `journey dev` that sends real
    email refuses to start without the secret (`_providers`), and a sandbox or a simulation sends nothing
    a customer could click."""
    public_url = reader.parsed(PUBLIC_URL_VARIABLE, _http_url, default_url)
    secret = reader.text(UNSUBSCRIBE_SECRET)
    mailto = reader.text("JOURNEY_UNSUBSCRIBE_MAILTO")
    if secret is None and warn:
        reader.warnings.append(f"{UNSUBSCRIBE_SECRET} is not set: unsubscribe links use a development key anyone can forge")
    return UnsubscribeConfig(public_url.rstrip("/"), secret.encode() if secret else DEV_SECRET, mailto)


def payload_keys(reader: Reader) -> PayloadKeys | None:
    """Required: a process that forgot its keys must not write customer data to Temporal in clear. `none` says so on purpose."""
    raw = reader.text(PAYLOAD_KEYS)
    if raw is None:
        reader.problem(
            f"{PAYLOAD_KEYS} is not set: Temporal payloads (customer ids, event properties) would be stored in clear;"
            f" set it, the same on every worker, API and deploy, to {KEYS_FORMAT} (or to none to keep payloads in clear)"
        )
        return None
    if raw.strip().lower() == "none":
        reader.warnings.append(f"{PAYLOAD_KEYS}=none: Temporal payloads (customer ids, event properties) are stored in clear")
        return None
    try:
        return PayloadKeys.parse(raw)
    except ValueError as exc:  # its message never quotes a key
        reader.problem(f"{PAYLOAD_KEYS}: {exc}")
        return None


def hash_secret(reader: Reader) -> HashSecret | None:
    raw = reader.text(HASH_SECRET)
    if raw is None:
        return None
    try:
        return HashSecret(raw.encode())
    except ValueError as exc:  # its message never quotes the secret
        reader.problem(f"{HASH_SECRET}: {exc}")
        return None


_UNUSED_SECRET = HashSecret(bytes(MIN_SECRET_BYTES))
"""What `_required_hash_secret` returns with a problem reported: never used, since `done()` then raises."""


def required_hash_secret(reader: Reader) -> HashSecret:
    """Required where enrollments are started: an unkeyed or public secret would let anyone match a known e-mail address."""
    secret = hash_secret(reader)
    if secret is None and reader.text(HASH_SECRET) is None:
        reader.problem(
            f"{HASH_SECRET} is not set: set it to a long random string, the same on every worker and API, e.g. $(openssl rand -hex 32);"
            f" it keys the customer keys in workflow ids and CustomerId, so keep it once chosen"
        )
    return secret or _UNUSED_SECRET


def codec_origins(reader: Reader) -> frozenset[str]:
    def parse(text: str) -> frozenset[str]:
        origins = frozenset(part.strip().rstrip("/") for part in text.split(",") if part.strip())
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError("write origins as scheme://host[:port], comma-separated, e.g. https://temporal.shop.example")
        return origins

    return reader.parsed(CODEC_ORIGINS, parse, frozenset())


def retention_policy(reader: Reader) -> RetentionPolicy:
    """JOURNEY_RETENTION_*: a duration (`400d`, `12w`) or `none` (kept for good); unset, the documented default."""

    def period(text: str) -> timedelta | None:
        if text.strip().lower() in ("none", "forever"):
            return None
        return timedelta(seconds=parse_duration(text.strip()))  # its ValueError says how to write one

    def read(kind: str) -> timedelta | None:
        default = period(RETENTION_DEFAULTS[kind])
        return reader.parsed(RETENTION[kind], period, default)

    return RetentionPolicy(events=read("events"), messages=read("messages"), enrollments=read("enrollments"))


def worker_http(reader: Reader) -> OpsAddress | None:
    """Where the worker's ops port listens (`JOURNEY_WORKER_HTTP`); None: `off`."""
    return reader.parsed(WORKER_HTTP_VARIABLE, parse_ops_address, DEFAULT_WORKER_HTTP)


def temporal_settings(reader: Reader) -> TemporalSettings:
    cert, key = (reader.parsed(name, _existing_file, None) for name in ("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY"))
    if (reader.text("TEMPORAL_TLS_CERT") is None) != (reader.text("TEMPORAL_TLS_KEY") is None):
        reader.problem("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (mTLS) or neither")
    return TemporalSettings(
        address=reader.text("TEMPORAL_ADDRESS") or _TEMPORAL.address,
        namespace=reader.text("TEMPORAL_NAMESPACE") or _TEMPORAL.namespace,
        task_queue=reader.text("TEMPORAL_TASK_QUEUE") or _TEMPORAL.task_queue,
        api_key=reader.text("TEMPORAL_API_KEY"),
        tls_cert=cert,
        tls_key=key,
        tls_ca=reader.parsed("TEMPORAL_TLS_CA", _existing_file, None),
        search_attributes=reader.parsed("TEMPORAL_SEARCH_ATTRIBUTES", _switch, _TEMPORAL.search_attributes),
        payload_keys=payload_keys(reader),
    )


def pool_size(reader: Reader) -> PoolSize:
    default = PoolSize()
    kept = reader.parsed("DATABASE_POOL_SIZE", _count, default.kept)
    return PoolSize(kept, reader.parsed("DATABASE_POOL_OVERFLOW", _count, default.overflow))


def call_timeout(reader: Reader) -> timedelta:
    seconds = reader.parsed("TEMPORAL_CALL_TIMEOUT", _positive_number, CALL_TIMEOUT.total_seconds())
    if not 1 <= seconds <= 30:
        reader.problem(f"TEMPORAL_CALL_TIMEOUT={seconds:g}: write 1 to 30 seconds (a customer's lease lasts 60 s, for several calls)")
    return timedelta(seconds=seconds)


def shutdown_grace(reader: Reader) -> timedelta:
    return reader.parsed("JOURNEY_SHUTDOWN_GRACE", lambda text: timedelta(seconds=parse_duration(text.strip())), SHUTDOWN_GRACE)


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError("write a whole number, e.g. 10")
    return int(text)


def log_format(reader: Reader) -> str:
    return reader.parsed("JOURNEY_LOG_FORMAT", _log_format, "text")


def _log_format(text: str) -> str:
    if text.strip().lower() not in FORMATS:
        raise ValueError(f"write one of {', '.join(FORMATS)}")
    return text.strip().lower()


def database_url(reader: Reader) -> str | None:
    url = reader.text("DATABASE_URL")
    if url is not None:
        try:
            make_url(url)
        except (ArgumentError, ValueError):  # the value is not echoed: it may hold a password
            reader.problem("DATABASE_URL is not a database URL: write postgresql://user:password@host/db or sqlite:///path")
    return url


def api_keys(reader: Reader) -> frozenset[str]:
    return frozenset(key.strip() for key in (reader.text(KEYS_VARIABLE) or "").split(",") if key.strip())


def api_endpoints(
    reader: Reader, unsubscribe: UnsubscribeConfig, payload_keys: PayloadKeys | None = None, codec_origins: frozenset[str] = frozenset()
) -> ApiSettings:
    public_url = reader.parsed(PUBLIC_URL_VARIABLE, _http_url, "").rstrip("/") or None
    sendgrid = SendGridWebhookSettings(
        public_key=(reader.text(PUBLIC_KEY_VARIABLE) or "").strip() or None,
        max_age_seconds=reader.parsed("SENDGRID_WEBHOOK_MAX_AGE_SECONDS", _seconds, DEFAULT_MAX_AGE_SECONDS),
    )
    twilio = TwilioWebhookSettings(auth_token=reader.text(AUTH_TOKEN_VARIABLE), public_url=public_url)
    return ApiSettings(
        sendgrid_webhook=sendgrid,
        twilio_webhook=twilio,
        unsubscribe=unsubscribe,
        payload_keys=payload_keys,
        codec_origins=codec_origins,
        console=console_settings(reader),
    )


def console_settings(reader: Reader) -> ConsoleSettings:
    """The console's password (none: the API keys are its passwords) and the repository its journeys link to."""
    password = reader.text(PASSWORD_VARIABLE) or None
    repo_url = reader.parsed(REPO_URL_VARIABLE, _http_url, "").rstrip("/") or None
    return ConsoleSettings(password=password, repo_url=repo_url)


def provider_settings(reader: Reader) -> ProviderSettings:
    """Each channel's provider whose credentials are set; every variable is read (and checked) either way."""
    timeout = reader.parsed("PROVIDER_TIMEOUT_SECONDS", _positive_number, DEFAULT_TIMEOUT_SECONDS)
    public_url = reader.parsed(PUBLIC_URL_VARIABLE, _http_url, None)
    has_unsubscribe_secret = reader.text(UNSUBSCRIBE_SECRET) is not None

    api_key, sender = reader.text("SENDGRID_API_KEY"), reader.text("SENDGRID_FROM")
    host = reader.parsed("SENDGRID_BASE_URL", _http_url, sendgrid_email.DEFAULT_HOST)
    rate = reader.parsed("SENDGRID_RATE_PER_SECOND", _positive_number, sendgrid_email.DEFAULT_RATE)
    email = SendGridSettings(api_key, sender, host, rate, timeout) if api_key and sender else None
    if email is not None and not has_unsubscribe_secret:
        # Real inboxes get marketing email whose unsubscribe links are signed with this key; the
        # development key is public, so anyone could unsubscribe anyone.
        reader.problem(
            f"SENDGRID_API_KEY is set, so email goes to real inboxes: set {UNSUBSCRIBE_SECRET} to a long random string"
            f" (e.g. $(openssl rand -hex 32)) so its unsubscribe links cannot be forged"
        )

    sid, token = reader.text("TWILIO_ACCOUNT_SID"), reader.text(AUTH_TOKEN_VARIABLE)
    number, service = reader.text("TWILIO_FROM"), reader.text("TWILIO_MESSAGING_SERVICE_SID")
    base_url = reader.parsed("TWILIO_BASE_URL", _http_url, twilio_sms.DEFAULT_BASE_URL)
    rate = reader.parsed("TWILIO_RATE_PER_SECOND", _positive_number, twilio_sms.DEFAULT_RATE)
    sms = None
    if sid and token:
        if number or service:
            sms = TwilioSettings(sid, token, number, service, public_url, base_url, rate, timeout)
        else:
            reader.problem("TWILIO_ACCOUNT_SID is set but neither TWILIO_FROM nor TWILIO_MESSAGING_SERVICE_SID: set one")

    return ProviderSettings(email=email, sms=sms, push=_fcm(reader, timeout))


def public_url_for_real_providers(reader: Reader, providers: ProviderSettings) -> None:
    """`journey worker` with SendGrid or Twilio needs the API's public address: the unsubscribe links of its email and the
    status callbacks of its SMS point there, and a default of 127.0.0.1 would send customers links that lead nowhere.
    (`journey dev` points them at its own API.)"""
    if reader.text(PUBLIC_URL_VARIABLE) is not None:
        return
    real = [name for name, settings in (("SENDGRID_API_KEY", providers.email), ("TWILIO_ACCOUNT_SID", providers.sms)) if settings]
    if real:
        reader.problem(
            f"{' and '.join(real)} set, so messages reach real customers with links back to the API: set {PUBLIC_URL_VARIABLE} "
            "to the API's address as customers and providers reach it, e.g. https://journeys.example.com"
        )


def _fcm(reader: Reader, timeout: float) -> FcmSettings | None:
    """A service account from FCM_CREDENTIALS_JSON, else from the GOOGLE_APPLICATION_CREDENTIALS file if there is one."""
    text, path = reader.text("FCM_CREDENTIALS_JSON"), reader.text("GOOGLE_APPLICATION_CREDENTIALS")
    base_url = reader.parsed("FCM_BASE_URL", _http_url, fcm_push.DEFAULT_BASE_URL)
    rate = reader.parsed("FCM_RATE_PER_SECOND", _positive_number, fcm_push.DEFAULT_RATE)
    source = "FCM_CREDENTIALS_JSON"
    if text is None and path is not None and os.path.isfile(path):
        source = "GOOGLE_APPLICATION_CREDENTIALS"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reader.problem(f"GOOGLE_APPLICATION_CREDENTIALS={path!r}: the file cannot be read ({exc})")
            return None
    if text is None:
        return None
    try:
        account = json.loads(text)
    except ValueError:
        account = None
    if not isinstance(account, dict) or account.get("type") != "service_account" or not account.get("project_id"):
        # The value is not echoed: it holds a private key.
        reader.problem(f"{source}: the FCM credentials must be a service-account JSON key with a project_id")
        return None
    return FcmSettings(account, base_url, rate, timeout)
