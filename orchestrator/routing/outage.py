"""While Temporal is unreachable, calls that need it are refused at once, for as long as the outage lasts.

A call that finds Temporal gone would otherwise hold its caller (and the customer's lease; on SQLite the
one write lock) for a whole timeout, and every call after it the same. So the first such failure opens
an outage: calls are refused at once, a probe asks Temporal's health every PROBE_SECONDS from the
client's loop, and the first answer closes it. One line is logged when an outage opens and one when it
closes, whatever the SDK retries in between.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta

from temporalio.client import Client

PROBE_SECONDS = 1.0
"""How often an open outage asks Temporal whether it answers again."""

log = logging.getLogger(__name__)


class Outage:
    """Whether Temporal is known to be unreachable now, and the probe that notices its return."""

    def __init__(
        self, client: Client, loop: asyncio.AbstractEventLoop, address: str, meanwhile: str = "calls that need it are refused at once"
    ) -> None:
        """`meanwhile`: what the process does until Temporal answers, as the line that opens an outage says it."""
        self._client = client
        self._loop = loop
        self._address = address
        self._meanwhile = meanwhile
        self._lock = threading.Lock()
        self._since: float | None = None

    def seconds(self) -> float | None:
        """How long the outage has lasted; None when there is none."""
        since = self._since
        return None if since is None else time.monotonic() - since

    def began(self) -> None:
        """A call found Temporal unreachable: open the outage (once) and start probing."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.warning("Temporal at %s is unreachable: %s until it answers", self._address, self._meanwhile)
        try:
            asyncio.run_coroutine_threadsafe(self._probe(), self._loop)
        except RuntimeError:  # the loop is closed: the process is stopping, nothing will call again
            self._since = None

    async def _probe(self) -> None:
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            try:
                if await self._client.service_client.check_health(timeout=timedelta(seconds=PROBE_SECONDS)):
                    break
            except Exception:  # still unreachable, whichever way the SDK says it
                continue
        lasted = self.seconds() or 0.0
        self._since = None
        log.warning("Temporal at %s answers again, after %.0f s unreachable", self._address, lasted)


async def watch(client: Client, every: float = 5.0) -> None:
    """Log a worker's outages of Temporal, once as each begins and once as it ends (the SDK's own retries, a line per
    poller every few seconds, are kept below ERROR by the process's runtime: orchestrator/host/temporal_metrics.py)."""
    outage = Outage(client, asyncio.get_running_loop(), client.service_client.config.target_host, "the worker's tasks wait")
    while True:
        await asyncio.sleep(every)
        if outage.seconds() is not None:
            continue
        try:
            healthy = await client.service_client.check_health(timeout=timedelta(seconds=min(every, 2.0)))
        except Exception:  # unreachable, whichever way the SDK says it
            healthy = False
        if not healthy:
            outage.began()
