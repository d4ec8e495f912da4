"""Connecting to Temporal: the embedded dev server by default, any cluster or Temporal Cloud by environment.

| variable | meaning | default |
|---|---|---|
| TEMPORAL_ADDRESS | host:port of the frontend | 127.0.0.1:7233 |
| TEMPORAL_NAMESPACE | namespace | default |
| TEMPORAL_TASK_QUEUE | task queue of journey workers | journeys |
| TEMPORAL_API_KEY | Temporal Cloud API key (implies TLS) | |
| TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY | mTLS client certificate and key files | |
| TEMPORAL_TLS_CA | CA bundle of the server, for private CAs | |
| TEMPORAL_SEARCH_ATTRIBUTES | `false` where JourneyId/CurrentStep/... are not registered | true |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig


@dataclass(frozen=True)
class TemporalSettings:
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "journeys"
    api_key: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    search_attributes: bool = True

    @classmethod
    def from_env(cls) -> TemporalSettings:
        env = os.environ

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        return cls(
            address=env.get("TEMPORAL_ADDRESS", cls.address),
            namespace=env.get("TEMPORAL_NAMESPACE", cls.namespace),
            task_queue=env.get("TEMPORAL_TASK_QUEUE", cls.task_queue),
            api_key=env.get("TEMPORAL_API_KEY") or None,
            tls_cert=path("TEMPORAL_TLS_CERT"),
            tls_key=path("TEMPORAL_TLS_KEY"),
            tls_ca=path("TEMPORAL_TLS_CA"),
            search_attributes=env.get("TEMPORAL_SEARCH_ATTRIBUTES", "true").lower() not in ("0", "false", "no"),
        )

    def tls(self) -> TLSConfig | bool:
        if self.tls_cert and self.tls_key:
            return TLSConfig(
                client_cert=self.tls_cert.read_bytes(),
                client_private_key=self.tls_key.read_bytes(),
                server_root_ca_cert=self.tls_ca.read_bytes() if self.tls_ca else None,
            )
        return bool(self.api_key)

    async def connect(self, *, lazy: bool = False) -> Client:
        """A client of the configured cluster.

        `lazy`: return at once and connect on first use, trying again on each call until Temporal
        answers. The API connects lazily, so that it starts (and answers 503, `/healthz` degraded)
        while Temporal is down instead of exiting; a worker has nothing to do without Temporal.
        """
        return await Client.connect(self.address, namespace=self.namespace, api_key=self.api_key, tls=self.tls(), lazy=lazy)
