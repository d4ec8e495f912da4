"""Connecting to Temporal: any cluster or Temporal Cloud, as the TEMPORAL_* variables say (orchestrator/host/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig


@dataclass(frozen=True)
class TemporalSettings:
    address: str = "127.0.0.1:7233"
    """host:port of the frontend."""
    namespace: str = "default"
    task_queue: str = "journeys"
    """The task queue of journey workers."""
    api_key: str | None = None
    """A Temporal Cloud API key (implies TLS)."""
    tls_cert: Path | None = None
    """mTLS client certificate file, with `tls_key`."""
    tls_key: Path | None = None
    tls_ca: Path | None = None
    """CA bundle of the server, for private CAs."""
    search_attributes: bool = True
    """False where JourneyId/CurrentStep/... are not registered."""

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
