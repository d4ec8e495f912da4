"""The table of every environment variable the product reads: its name, who reads it, what it means, its default.

It is data: docs/deploy.md shows it, and tests/host/test_settings.py holds the two to
each other and each process to the variables the table says it reads. The reading
itself is orchestrator/host/settings.py, except for `journey send`'s two variables,
which click's options read (orchestrator/cli.py names them, and the test checks them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from activities.delivery_gate import CAP_VARIABLE
from activities.providers import fcm_push, sendgrid_email, twilio_sms
from activities.providers.base import DEFAULT_TIMEOUT_SECONDS
from orchestrator.api.auth import KEYS_VARIABLE
from orchestrator.console.access import PASSWORD_VARIABLE, REPO_URL_VARIABLE
from orchestrator.host.ops_server import DEFAULT_WORKER_HTTP, WORKER_HTTP_VARIABLE
from orchestrator.host.temporal_connection import CALL_TIMEOUT, SHUTDOWN_GRACE, TemporalSettings
from orchestrator.personalization.unsubscribe import DEV_PUBLIC_URL
from orchestrator.store import PoolSize
from orchestrator.webhooks.sendgrid_signature import DEFAULT_MAX_AGE_SECONDS, PUBLIC_KEY_VARIABLE
from orchestrator.webhooks.twilio_signature import AUTH_TOKEN_VARIABLE, PUBLIC_URL_VARIABLE


class Process(StrEnum):
    """A `journey` command that reads variables."""

    API = "api"
    WORKER = "worker"
    DEV = "dev"
    DEPLOY = "deploy"
    SIMULATE = "simulate"
    """`journey simulate` and `journey test`."""
    SEND = "send"
    PRUNE = "prune"
    STATS = "stats"
    """`journey stats`: it reads the store only."""
    CUSTOMERS = "customers"
    """`journey customers key`, `journey customers export` and `journey customers erase`."""
    BACKTEST = "backtest"
    """`journey backtest`, and `journey plan`, which backtests each changed journey."""


@dataclass(frozen=True)
class Variable:
    """One row of the table: what docs/deploy.md says about a variable."""

    name: str
    read_by: tuple[Process, ...]
    meaning: str
    default: str = ""
    """As the documentation shows it; empty: none."""


API, WORKER, DEV, DEPLOY, SIMULATE, SEND = Process.API, Process.WORKER, Process.DEV, Process.DEPLOY, Process.SIMULATE, Process.SEND
CUSTOMERS, PRUNE, STATS, BACKTEST = Process.CUSTOMERS, Process.PRUNE, Process.STATS, Process.BACKTEST
STORE_USERS = (API, WORKER, DEV, DEPLOY, CUSTOMERS, PRUNE, STATS, BACKTEST)
TEMPORAL_USERS = (API, WORKER, DEPLOY, CUSTOMERS)  # `journey dev` runs its own Temporal server
SENDERS = (WORKER, DEV)
SIGNED_LINKS = (API, WORKER, DEV, SIMULATE)  # unsubscribe links: the worker signs them (and simulations), the API checks them
WEBHOOK_CHECKERS = (API, DEV)
SECRETS = "JOURNEY_SECRET_<NAME>"
RETRY_WINDOW = "JOURNEY_SEND_RETRY_WINDOW"
UNSUBSCRIBE_SECRET = "JOURNEY_UNSUBSCRIBE_SECRET"
PAYLOAD_KEYS = "JOURNEY_PAYLOAD_KEYS"
HASH_SECRET = "JOURNEY_HASH_SECRET"
CODEC_ORIGINS = "JOURNEY_CODEC_CORS_ORIGINS"
RETENTION = {"events": "JOURNEY_RETENTION_EVENTS", "messages": "JOURNEY_RETENTION_MESSAGES", "enrollments": "JOURNEY_RETENTION_ENROLLMENTS"}
RETENTION_DEFAULTS = {"events": "400d", "messages": "180d", "enrollments": "400d"}
_TEMPORAL = TemporalSettings()

VARIABLES: tuple[Variable, ...] = (
    Variable("DATABASE_URL", STORE_USERS, "`postgresql://user:pass@host/db` (psycopg 3) or `sqlite:///path`",
             "`sqlite:///.journey/journey.db` (`journey dev`: in its `--data-dir`)"),
    Variable("JOURNEY_LOG_FORMAT", (API, WORKER, DEV), "`text` (a line per record) or `json` (one object per line: time, level, "
             "logger, message and the ids involved: journey, version, route, code; never personal data)", "`text`"),
    Variable("DATABASE_POOL_SIZE", (API, WORKER, DEV), "PostgreSQL connections each process keeps open; a worker uses up to one per "
             "activity thread (16) and two more. Sum over processes, with the overflow, below the server's `max_connections`",
             f"`{PoolSize().kept}`"),
    Variable("DATABASE_POOL_OVERFLOW", (API, WORKER, DEV), "connections a process may open beyond the pool when busy, closed after",
             f"`{PoolSize().overflow}`"),
    Variable("TEMPORAL_CALL_TIMEOUT", (API, DEV), "how long the API waits for Temporal to confirm a call (an enrollment's start, "
             "an event's signal) before answering `503`, in seconds (1 to 30)", f"`{int(CALL_TIMEOUT.total_seconds())}`"),
    Variable("JOURNEY_SHUTDOWN_GRACE", (WORKER,), "on SIGTERM, how long the worker stops taking work and lets activities in flight "
             "(a batch of sends) finish before it cancels them, as a duration (`30s`, `2m`); what is cancelled is retried elsewhere",
             f"`{int(SHUTDOWN_GRACE.total_seconds())}s`"),
    Variable("TEMPORAL_ADDRESS", TEMPORAL_USERS, "frontend `host:port`", f"`{_TEMPORAL.address}`"),
    Variable("TEMPORAL_NAMESPACE", TEMPORAL_USERS, "namespace", f"`{_TEMPORAL.namespace}`"),
    Variable("TEMPORAL_TASK_QUEUE", TEMPORAL_USERS, "task queue of the workers (`journey worker --task-queue` wins)",
             f"`{_TEMPORAL.task_queue}`"),
    Variable("TEMPORAL_API_KEY", TEMPORAL_USERS, "Temporal Cloud API key (turns TLS on)"),
    Variable("TEMPORAL_TLS_CERT", TEMPORAL_USERS,
             "mTLS client certificate file (Temporal Cloud or a private cluster), with `TEMPORAL_TLS_KEY`"),
    Variable("TEMPORAL_TLS_KEY", TEMPORAL_USERS, "the private key file of `TEMPORAL_TLS_CERT`"),
    Variable("TEMPORAL_TLS_CA", TEMPORAL_USERS, "the server's CA bundle, for private CAs"),
    Variable("TEMPORAL_SEARCH_ATTRIBUTES", TEMPORAL_USERS,
             "`false` on a cluster where the search attributes below are not registered", "`true`"),
    Variable(PAYLOAD_KEYS, TEMPORAL_USERS,
             "the keys that encrypt Temporal payloads, `<id>:<base64 of 32 bytes>` comma-separated, the current (encrypting)"
             " key first, every one decrypting; the same on every process ([privacy.md](privacy.md#key-management))",
             "required (the process refuses to start without it); `none` keeps payloads in clear, with a warning;"
             " `journey dev`: a key it keeps in its `--data-dir`"),
    Variable(HASH_SECRET, (API, WORKER, CUSTOMERS),
             "the secret of the keyed hashes that stand for a customer in workflow ids and `CustomerId`, and for an erased"
             " customer's addresses (suppression entries) and id (the audit); the same on every process, and kept: a new one"
             " gives new enrollments other ids and earlier suppressions no longer match ([privacy.md](privacy.md#key-management))",
             "required (`journey api` and `journey worker` refuse to start without it); `journey dev`: a secret it keeps in"
             " its `--data-dir`, which `journey customers key` also reads"),
    Variable(CODEC_ORIGINS, (API,),
             "origins of the Temporal UI (`https://temporal.shop.example`, comma-separated) that may call the codec endpoint"
             " `/v1/codec` from the browser", "none; `journey dev`: its own UI"),
    Variable(RETENTION["events"], (DEV, PRUNE),
             "how long identify and track calls are kept, by when they were received, e.g. `400d`, or `none`: for good;"
             " the profile history older than that is folded into one baseline per customer"
             " ([privacy.md](privacy.md#retention))", f"`{RETENTION_DEFAULTS['events']}`"),
    Variable(RETENTION["messages"], (DEV, PRUNE),
             "how long what each message said (the outbox) is kept, by when it was sent; the ledger keeps that it was",
             f"`{RETENTION_DEFAULTS['messages']}`"),
    Variable(RETENTION["enrollments"], (DEV, PRUNE),
             "how long ended enrollments are kept, by when they ended, with their ledger rows and provider events;"
             " `re_entry` rules see only what is kept", f"`{RETENTION_DEFAULTS['enrollments']}`"),
    Variable(KEYS_VARIABLE, (API, DEV), "comma-separated keys accepted as `Authorization: Bearer <key>` (or HTTP Basic user)",
             "none: `journey api` refuses to start without one, `journey dev` then takes calls without a key"),
    Variable(PASSWORD_VARIABLE, (API, DEV),
             "the password of the console's login page at `/console` ([console.md](console.md#access))",
             "none: any key of `JOURNEY_API_KEYS` is the password; `journey dev` without either: the console is open"),
    Variable(REPO_URL_VARIABLE, (API, DEV),
             "the journeys folder in the team's repository as its web page shows a file, e.g."
             " `https://github.com/shop/journeys/blob/main/journeys`: the console links each journey to `{url}/{id}.yaml`",
             "none: no links"),
    Variable(SECRETS, SENDERS, "secrets that webhook steps reference as `{{ secrets.NAME }}`"),
    Variable(PUBLIC_URL_VARIABLE, SIGNED_LINKS,
             "where the API is reachable from the internet: unsubscribe links and Twilio's status callbacks point there,"
             " and Twilio's signatures are checked against it ([delivery.md](delivery.md#provider-webhooks))",
             "required by `journey worker` once SendGrid or Twilio is set (it refuses to start without);"
             f" otherwise `{DEV_PUBLIC_URL}` for unsubscribe links (`journey dev`: its own `--port`), no status callbacks,"
             " signatures checked against the request's URL"),
    Variable(UNSUBSCRIBE_SECRET, SIGNED_LINKS,
             "key that signs (worker) and checks (API) the per-customer unsubscribe links of marketing email;"
             " changing it invalidates links already sent",
             "required once `SENDGRID_API_KEY` is set (`journey worker` and `journey dev` refuse to start without it);"
             " with the sandbox, a fixed development key (`journey api` logs a warning, since it takes the links' clicks)"),
    Variable("JOURNEY_UNSUBSCRIBE_MAILTO", SIGNED_LINKS, "an address added as a `mailto:` form to `List-Unsubscribe`", "none (URL only)"),
    Variable(CAP_VARIABLE, (WORKER, DEV, SIMULATE, BACKTEST),
             "at most this many marketing messages per customer per local calendar day, all journeys together,"
             " e.g. `3/day` ([delivery.md](delivery.md))", "none"),
    Variable(RETRY_WINDOW, (WORKER, DEV, SIMULATE, BACKTEST),
             "how long a send is retried while its provider fails (429, 5xx, timeouts) before it is marked `failed`"
             " and the journey goes on, e.g. `6h`, `3d`", "`24h`"),
    Variable("SENDGRID_API_KEY", SENDERS,
             "with `SENDGRID_FROM`, email goes through SendGrid ([delivery.md](delivery.md#providers))", "none: the sandbox"),
    Variable("SENDGRID_FROM", SENDERS, "the sender, `news@shop.example` or `Shop <news@shop.example>`"),
    Variable("SENDGRID_BASE_URL", SENDERS, "SendGrid's endpoint, e.g. `https://api.eu.sendgrid.com`", f"`{sendgrid_email.DEFAULT_HOST}`"),
    Variable("SENDGRID_RATE_PER_SECOND", SENDERS, "requests per second to SendGrid from one worker process",
             f"`{sendgrid_email.DEFAULT_RATE:g}`"),
    Variable("TWILIO_ACCOUNT_SID", SENDERS,
             "with `TWILIO_AUTH_TOKEN` and a sender, SMS goes through Twilio ([delivery.md](delivery.md#providers))", "none: the sandbox"),
    Variable(AUTH_TOKEN_VARIABLE, (API, WORKER, DEV),
             "Twilio's auth token: sends SMS, and checks `X-Twilio-Signature` of Twilio's webhooks",
             "none: Twilio's webhooks are refused (503)"),
    Variable("TWILIO_MESSAGING_SERVICE_SID", SENDERS, "the Messaging Service that sends SMS (preferred to `TWILIO_FROM`)"),
    Variable("TWILIO_FROM", SENDERS, "the sending number (E.164) or alphanumeric sender id"),
    Variable("TWILIO_BASE_URL", SENDERS, "Twilio's endpoint", f"`{twilio_sms.DEFAULT_BASE_URL}`"),
    Variable("TWILIO_RATE_PER_SECOND", SENDERS, "requests per second to Twilio from one worker process", f"`{twilio_sms.DEFAULT_RATE:g}`"),
    Variable("FCM_CREDENTIALS_JSON", SENDERS,
             "a service-account key (JSON text): push goes through FCM ([delivery.md](delivery.md#providers))", "none: the sandbox"),
    Variable("GOOGLE_APPLICATION_CREDENTIALS", SENDERS,
             "the path of a service-account key file, used when `FCM_CREDENTIALS_JSON` is unset (no such file: ignored)"),
    Variable("FCM_BASE_URL", SENDERS, "FCM's endpoint", f"`{fcm_push.DEFAULT_BASE_URL}`"),
    Variable("FCM_RATE_PER_SECOND", SENDERS, "requests per second to FCM from one worker process", f"`{fcm_push.DEFAULT_RATE:g}`"),
    Variable(WORKER_HTTP_VARIABLE, (WORKER,),
             "where the worker serves `/healthz`, `/readyz` and `/metrics`, `host:port`, or `off`"
             " ([operations.md](operations.md#the-workers-ops-port))", f"`{DEFAULT_WORKER_HTTP}`"),
    Variable("PROVIDER_TIMEOUT_SECONDS", SENDERS, "how long one request to a provider may take, in seconds",
             f"`{DEFAULT_TIMEOUT_SECONDS:g}`"),
    Variable(PUBLIC_KEY_VARIABLE, WEBHOOK_CHECKERS,
             "the verification key of SendGrid's Signed Event Webhook, as the console shows it (base64)",
             "none: SendGrid's events are refused (503), so SendGrid keeps them and retries"),
    Variable("SENDGRID_WEBHOOK_MAX_AGE_SECONDS", WEBHOOK_CHECKERS,
             "how far the signed timestamp of a SendGrid event may be from our clock, either way", f"`{DEFAULT_MAX_AGE_SECONDS}`"),
    # Read by click's options of `journey send` (orchestrator/cli.py), not by settings.py.
    Variable("JOURNEY_API_URL", (SEND,), "the API `journey send` posts to (`--url` wins)", "`http://127.0.0.1:8080`"),
    Variable("JOURNEY_API_KEY", (SEND,), "the API key `journey send` presents (`--api-key` wins)"),
)
NAMES = frozenset(variable.name for variable in VARIABLES)
