"""The processes' log lines: JSON when asked, with the ids an operator filters on, and a refusal logged without personal data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from orchestrator.host.logs import JsonFormatter, banner, configure_logging
from orchestrator.host.settings import SettingsError, WorkerSettings
from orchestrator.host.temporal_connection import TemporalSettings
from tests.keys import KEYS_ENVIRONMENT


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_json_line_carries_the_message_and_the_ids_given(restored_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("orchestrator.api.errors").warning(
        "refused %s", "POST /v1/track", extra={"route": "/v1/track", "status": 503, "code": "customer_busy"}
    )
    line = json.loads(stream.getvalue())
    assert line["message"] == "refused POST /v1/track" and line["level"] == "WARNING"
    assert (line["route"], line["status"], line["code"]) == ("/v1/track", 503, "customer_busy")
    assert line["time"].endswith("Z") and line["logger"] == "orchestrator.api.errors"


def test_an_exception_is_one_json_line(restored_logging: None) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "RuntimeError: boom" in json.loads(line)["exception"]


def test_the_log_format_is_a_setting_and_a_wrong_one_is_refused() -> None:
    assert WorkerSettings.read(KEYS_ENVIRONMENT | {"JOURNEY_LOG_FORMAT": "JSON"}).log_format == "json"
    assert WorkerSettings.read(KEYS_ENVIRONMENT).log_format == "text"
    with pytest.raises(SettingsError, match="JOURNEY_LOG_FORMAT='yaml': write one of text, json"):
        WorkerSettings.read(KEYS_ENVIRONMENT | {"JOURNEY_LOG_FORMAT": "yaml"})


def test_the_banner_names_what_the_process_runs_against_and_never_the_password() -> None:
    temporal = TemporalSettings(address="temporal.internal:7233", namespace="prod", search_attributes=False)
    line = banner("journey worker", temporal, "postgresql://journey:s3cret@db/journey", "journeys", providers="email: sandbox")
    assert line.startswith("journey worker ") and "s3cret" not in line
    for part in ("task queue journeys", "namespace prod at temporal.internal:7233", "database postgresql", "search attributes off",
                 "payloads in clear", "providers email: sandbox"):
        assert part in line
