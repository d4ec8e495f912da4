"""`journey dev` says where the console is, next to the API, and whether it asks for a password."""

from __future__ import annotations

from orchestrator.host.deployment import DeployReport
from orchestrator.host.devstack import DevStackInfo


def info(*, console_login: bool) -> DevStackInfo:
    report = DeployReport()
    return DevStackInfo("http://127.0.0.1:8080", "127.0.0.1:7233", None, "sqlite:///x.db", False, report, console_login=console_login)


def test_journey_dev_prints_the_console_url() -> None:
    assert "Console      http://127.0.0.1:8080/console" in info(console_login=False).lines()


def test_journey_dev_says_how_to_log_in_when_the_console_asks() -> None:
    (line,) = [line for line in info(console_login=True).lines() if line.startswith("Console")]
    assert line == "Console      http://127.0.0.1:8080/console  (log in: JOURNEY_CONSOLE_PASSWORD or an API key)"
