"""The one place that reads the environment: each process's settings, read once when it starts.

Each process reads what it needs (`WorkerSettings.read()`, `ApiServerSettings.read()`,
`DevSettings.read()`, `DeploySettings.read()`, `SimulationSettings.read()`,
`CustomerKeySettings.read()`, `CustomerSettings.read()`, `PruneSettings.read()`,
`StatsSettings.read()`), checks
every value, and raises one `SettingsError` that names each variable it cannot use
and what to write instead; the command line prints it and exits 2 before anything
starts. The layers below are handed typed values (`TemporalSettings`, `ProviderSettings`,
`DeliveryPolicy`, `UnsubscribeConfig`, `ApiSettings`) and never read the environment:
what a process runs with is what it read at start, and a test gives a part its
settings directly. Only variables of the table (orchestrator/host/variables.py) can be read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from activities.delivery_gate import DeliveryPolicy
from activities.providers import ProviderSettings
from orchestrator.api.auth import KEYS_VARIABLE
from orchestrator.api.state import ApiSettings
from orchestrator.host import setting_readers as readers
from orchestrator.host.ops_server import DEFAULT_WORKER_HTTP, OpsAddress
from orchestrator.host.setting_readers import Reader, SettingsError
from orchestrator.host.temporal_connection import CALL_TIMEOUT, SHUTDOWN_GRACE, TemporalSettings
from orchestrator.host.variables import (
    SECRETS,
)
from orchestrator.personalization.unsubscribe import DEV_PUBLIC_URL, UnsubscribeConfig
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.store import PoolSize, Store
from orchestrator.store.retention import RetentionPolicy

__all__ = [
    "ApiServerSettings",
    "CustomerKeySettings",
    "CustomerSettings",
    "DeliverySettings",
    "DeploySettings",
    "DevSettings",
    "PruneSettings",
    "SettingsError",
    "SimulationSettings",
    "StatsSettings",
    "WorkerSettings",
    "open_store",
]


@dataclass(frozen=True)
class DeliverySettings:
    """How the send and webhook activities behave, besides which providers deliver."""

    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    unsubscribe: UnsubscribeConfig = field(default_factory=UnsubscribeConfig.development)
    secrets: Mapping[str, str] = field(default_factory=dict)
    """What webhook templates read as `secrets.NAME`."""


@dataclass(frozen=True)
class WorkerSettings:
    """`journey worker`."""

    temporal: TemporalSettings
    database_url: str | None
    providers: ProviderSettings
    delivery: DeliverySettings
    hash_secret: HashSecret
    """The broadcast's page activity starts enrollments: their ids are keyed as the API's."""
    log_format: str = "text"
    pool: PoolSize = field(default_factory=PoolSize)
    shutdown_grace: timedelta = SHUTDOWN_GRACE
    ops_http: OpsAddress | None = DEFAULT_WORKER_HTTP
    """Where `/healthz`, `/readyz` and `/metrics` are served (orchestrator/host/ops_server.py); None: not at all."""

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> WorkerSettings:
        reader = Reader(_environment(env))
        delivery = DeliverySettings(readers.delivery_policy(reader), readers.unsubscribe_config(reader), reader.prefixed(SECRETS))
        temporal, database_url = readers.temporal_settings(reader), readers.database_url(reader)
        providers, hash_secret = readers.provider_settings(reader), readers.required_hash_secret(reader)
        readers.public_url_for_real_providers(reader, providers)
        operations = (readers.log_format(reader), readers.pool_size(reader), readers.shutdown_grace(reader), readers.worker_http(reader))
        return reader.done(cls(temporal, database_url, providers, delivery, hash_secret, *operations))


@dataclass(frozen=True)
class ApiServerSettings:
    """`journey api`."""

    temporal: TemporalSettings
    database_url: str | None
    api_keys: frozenset[str]
    endpoints: ApiSettings
    hash_secret: HashSecret
    log_format: str = "text"
    pool: PoolSize = field(default_factory=PoolSize)
    call_timeout: timedelta = CALL_TIMEOUT

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> ApiServerSettings:
        reader = Reader(_environment(env))
        keys = readers.api_keys(reader)
        if not keys:
            reader.problem(f"{KEYS_VARIABLE} is not set: give the API at least one key, e.g. {KEYS_VARIABLE}=$(openssl rand -hex 24)")
        temporal = readers.temporal_settings(reader)
        unsubscribe = readers.unsubscribe_config(reader, warn=True)
        endpoints = readers.api_endpoints(reader, unsubscribe, temporal.payload_keys, readers.codec_origins(reader))
        database_url, hash_secret = readers.database_url(reader), readers.required_hash_secret(reader)
        operations = (readers.log_format(reader), readers.pool_size(reader), readers.call_timeout(reader))
        return reader.done(cls(temporal, database_url, keys, endpoints, hash_secret, *operations))


@dataclass(frozen=True)
class DevSettings:
    """`journey dev`: the worker's and the API's settings, on the embedded Temporal server."""

    database_url: str | None
    api_keys: frozenset[str]
    """Empty: the API takes calls without a key."""
    providers: ProviderSettings
    delivery: DeliverySettings
    endpoints: ApiSettings
    retention: RetentionPolicy | None = None
    """What the stack's hourly prune deletes (None: no pruning; `read` always gives the variables' or their defaults)."""
    log_format: str = "text"
    pool: PoolSize = field(default_factory=PoolSize)
    call_timeout: timedelta = CALL_TIMEOUT

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None, *, api_url: str = DEV_PUBLIC_URL) -> DevSettings:
        """`api_url` is where this stack's API listens: the unsubscribe links point there unless JOURNEY_PUBLIC_URL says otherwise."""
        reader = Reader(_environment(env))
        unsubscribe = readers.unsubscribe_config(reader, default_url=api_url)
        delivery = DeliverySettings(readers.delivery_policy(reader), unsubscribe, reader.prefixed(SECRETS))
        endpoints = readers.api_endpoints(reader, unsubscribe)
        retention = readers.retention_policy(reader)
        database_url, api_keys = readers.database_url(reader), readers.api_keys(reader)
        operations = (readers.log_format(reader), readers.pool_size(reader), readers.call_timeout(reader))
        return reader.done(cls(database_url, api_keys, readers.provider_settings(reader), delivery, endpoints, retention, *operations))


@dataclass(frozen=True)
class DeploySettings:
    """`journey deploy`."""

    temporal: TemporalSettings
    database_url: str | None

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> DeploySettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.temporal_settings(reader), readers.database_url(reader)))


@dataclass(frozen=True)
class CustomerKeySettings:
    """`journey customers key`: the hash secret, if the environment has one (else the command looks for `journey dev`'s)."""

    hash_secret: HashSecret | None

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> CustomerKeySettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.hash_secret(reader)))


@dataclass(frozen=True)
class CustomerSettings:
    """`journey customers export` and `journey customers erase`: the store, and the Temporal that runs the customer's enrollments."""

    temporal: TemporalSettings
    database_url: str | None
    hash_secret: HashSecret | None = None

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> CustomerSettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.temporal_settings(reader), readers.database_url(reader), readers.hash_secret(reader)))


@dataclass(frozen=True)
class PruneSettings:
    """`journey prune`: the store, and how long each kind of row is kept."""

    database_url: str | None
    retention: RetentionPolicy

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> PruneSettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.database_url(reader), readers.retention_policy(reader)))


@dataclass(frozen=True)
class StatsSettings:
    """`journey stats` and `journey plan`: the store whose deployed journeys and journey facts they read."""

    database_url: str | None

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> StatsSettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.database_url(reader)))


@dataclass(frozen=True)
class BacktestSettings:
    """`journey backtest` and `journey plan`: the store whose history they replay, and the workspace's delivery rules."""

    database_url: str | None
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> BacktestSettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.database_url(reader), readers.delivery_policy(reader)))


@dataclass(frozen=True)
class SimulationSettings:
    """`journey simulate` and `journey test`: the workspace's delivery rules, and the links marketing email carries."""

    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    unsubscribe: UnsubscribeConfig = field(default_factory=UnsubscribeConfig.development)

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> SimulationSettings:
        reader = Reader(_environment(env))
        return reader.done(cls(readers.delivery_policy(reader), readers.unsubscribe_config(reader)))


def open_store(
    database_url: str | None, default_dir: Path | str = ".journey", hash_secret: HashSecret | None = None, pool: PoolSize | None = None
) -> Store:
    """The store at `database_url`, else SQLite under `default_dir`; a database the store does not support is a SettingsError."""
    try:
        return Store.at(database_url, default_dir, hash_secret, pool)
    except ValueError as exc:  # the store names DATABASE_URL and what it takes
        raise SettingsError([str(exc)]) from None


def _environment(env: Mapping[str, str] | None) -> Mapping[str, str]:
    """`env`, or this process's environment: the one place that reads it."""
    return os.environ if env is None else env
