"""How the processes log: a line of text per record, or one JSON object per line (`JOURNEY_LOG_FORMAT=json`).

A JSON line carries the record's time, level, logger and message, and the ids a record was given as
`extra` (FIELDS: the journey, its version, the enrollment, the step, the route and the answer's code):
what an operator filters on. Nothing personal goes into a record in the first place (docs/privacy.md):
customers appear by their keyed hash, requests by their route's template, not their path.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy.engine import make_url

from orchestrator.host.temporal_connection import TemporalSettings

FORMATS = ("text", "json")
FIELDS = ("journey", "version", "enrollment", "step", "reason", "route", "method", "status", "code", "fields")
"""The `extra` keys a JSON line carries when a record has them."""
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = {"alembic": logging.WARNING}
"""Loggers that say too much for an operator: the migrations' line per revision at every start (a new revision's own
line is still written when one runs: `alembic.runtime.migration` logs it at INFO, and the banner follows)."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Send the process's records to stderr in `fmt` (one of FORMATS), replacing any handler configured before."""
    if fmt not in FORMATS:
        raise ValueError(f"{fmt!r} is not a log format; use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)


def product_version() -> str:
    try:
        return version("journey-orchestrator")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def banner(process: str, temporal: TemporalSettings, database_url: str | None, task_queue: str, **more: str) -> str:
    """The line a process logs once it is up: what it runs, against what; each of `more` as `name: value`."""
    database = make_url(database_url).get_backend_name() if database_url else "sqlite"
    parts = [
        f"task queue {task_queue}",
        f"namespace {temporal.namespace} at {temporal.address}",
        f"database {database}",
        f"search attributes {'on' if temporal.search_attributes else 'off'}",
        f"payloads {'encrypted' if temporal.payload_keys else 'in clear'}",
        *(f"{name.replace('_', ' ')} {value}" for name, value in more.items()),
    ]
    return f"{process} {product_version()} started: " + ", ".join(parts)
