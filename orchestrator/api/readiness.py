"""`/readyz`: whether the API can take every event now, and why not, checked at most once per READY_CACHE.

Alive (`/healthz`) and ready differ: an API whose Temporal is down, or whose namespace refuses start calls, is
alive (it records identifies and events no journey listens to) but not ready (an event that starts or reaches
an enrollment is refused). A load balancer or orchestrator routes by readiness; the reasons say what to fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.routing.calls import TemporalUnavailable
from orchestrator.routing.gateway import LoopGateway
from orchestrator.store import Store

READY_CACHE = 5.0
"""Seconds a readiness answer is reused: probes every second cost Temporal one namespace check per this."""


@dataclass(frozen=True)
class Readiness:
    database: str
    temporal: str
    """ok | unreachable | misconfigured"""
    reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons


def database_state(store: Store) -> str:
    """ok, or the error's class name (never its text: it may hold a host name or a query)."""
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        return f"error: {type(exc).__name__}"


def check_readiness(store: Store, gateway: LoopGateway, timeout: timedelta) -> Readiness:
    reasons: list[str] = []
    database = database_state(store)
    if database != "ok":
        reasons.append(f"the database does not answer ({database.removeprefix('error: ')}): check DATABASE_URL and the server")
    if not gateway.reachable(timeout):
        reasons.append(f"Temporal does not answer within {timeout.total_seconds():g} s: events that start or reach journeys are refused")
        return Readiness(database, "unreachable", reasons)
    try:
        problems = gateway.namespace_problems(timeout * 2)
    except TemporalUnavailable as exc:
        reasons.append(f"Temporal did not answer the namespace check ({exc})")
        return Readiness(database, "unreachable", reasons)
    return Readiness(database, "misconfigured" if problems else "ok", reasons + problems)


class ReadinessCache:
    """The last answer and when it was found; one check at a time (others wait for it rather than pile up)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: Readiness | None = None
        self._at = 0.0

    def get(self, check: Callable[[], Readiness]) -> Readiness:
        with self._lock:
            if self._answer is None or self._clock() - self._at >= READY_CACHE:
                self._answer, self._at = check(), self._clock()
            return self._answer
