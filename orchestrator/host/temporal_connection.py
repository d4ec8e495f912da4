"""Connecting to Temporal: any cluster or Temporal Cloud, as the TEMPORAL_* variables say (orchestrator/host/settings.py).

Every client of a deployment (the worker's, the API's, `journey deploy`'s) is made by
`TemporalSettings.connect`, so every one encrypts and decrypts payloads with the same
keys (orchestrator/privacy/payload_codec.py); `journey dev` builds the same converter
with the keys it keeps in its data dir.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from orchestrator.privacy.payload_codec import PayloadKeys, encrypting_converter
from orchestrator.runtime.payload_types import JOURNEY_DATA_CONVERTER

CALL_TIMEOUT = timedelta(seconds=10)
"""How long the API waits for Temporal to confirm a call before refusing the event (TEMPORAL_CALL_TIMEOUT)."""
SHUTDOWN_GRACE = timedelta(seconds=30)
"""How long a stopping worker lets its activities in flight finish (JOURNEY_SHUTDOWN_GRACE)."""


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
    payload_keys: PayloadKeys | None = None
    """The keys payloads are encrypted with; None only where the operator chose plain payloads (JOURNEY_PAYLOAD_KEYS=none)."""

    def tls(self) -> TLSConfig | bool:
        if self.tls_cert and self.tls_key:
            return TLSConfig(
                client_cert=self.tls_cert.read_bytes(),
                client_private_key=self.tls_key.read_bytes(),
                server_root_ca_cert=self.tls_ca.read_bytes() if self.tls_ca else None,
            )
        return bool(self.api_key)

    async def connect(self, *, lazy: bool = False, runtime: Runtime | None = None) -> Client:
        """A client of the configured cluster.

        `lazy`: return at once and connect on first use, trying again on each call until Temporal
        answers. The API connects lazily, so that it starts (and answers 503, `/healthz` degraded)
        while Temporal is down instead of exiting; a worker has nothing to do without Temporal.
        `runtime`: the SDK runtime (`journey api` and `journey worker` pass the one that exports the
        SDK's metrics, orchestrator/host/temporal_metrics.py); None: the SDK's default.
        """
        return await Client.connect(
            self.address,
            namespace=self.namespace,
            api_key=self.api_key,
            tls=self.tls(),
            lazy=lazy,
            data_converter=self.data_converter(),
            runtime=runtime,
        )

    def data_converter(self) -> DataConverter:
        return encrypting_converter(self.payload_keys, JOURNEY_DATA_CONVERTER) if self.payload_keys else JOURNEY_DATA_CONVERTER
