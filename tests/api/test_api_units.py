"""The API's pure parts: key parsing, error paths, `journey send` values; no servers."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator.api.auth import ApiKeyAuth, presented_key
from orchestrator.api.errors import field_path
from orchestrator.api.sender import SendError, assignments, parse_value
from orchestrator.cli import main
from orchestrator.host.devserver import free_port


def send(*args: str) -> Result:
    return CliRunner().invoke(main, ["send", *args], catch_exceptions=False)


def test_the_key_is_read_from_bearer_or_from_the_basic_username() -> None:
    assert presented_key("Bearer abc") == "abc"
    assert presented_key("bearer   abc ") == "abc"
    assert presented_key("Basic " + base64.b64encode(b"abc:").decode()) == "abc"
    assert presented_key("Basic " + base64.b64encode(b"abc:ignored").decode()) == "abc"
    assert presented_key("Basic " + base64.b64encode(b":abc").decode()) is None
    assert presented_key("Basic %%%") is None
    assert presented_key("Digest abc") is None
    assert presented_key(None) is None


def test_disabling_auth_does_not_open_an_api_that_has_keys() -> None:
    assert ApiKeyAuth(frozenset({"k"}), disabled=True).open is False
    assert ApiKeyAuth(None, disabled=True).open is True
    assert ApiKeyAuth(frozenset()).open is False


def test_error_locations_become_field_paths() -> None:
    assert field_path(("body", "userId")) == "userId"
    assert field_path(("body", "batch", 3, "track", "userId")) == "batch[3].userId"
    assert field_path(("body", "batch", 0, "identify", "traits", "email")) == "batch[0].traits.email"
    assert field_path(("body",)) == "body"


@pytest.mark.parametrize(("text", "value"), [("42", 42), ("4.5", 4.5), ("true", True), ("null", None), ('"42"', "42"), ("pro", "pro")])
def test_send_values_are_json_when_they_parse(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_send_assignments_win_over_the_json_object() -> None:
    assert assignments(["plan=pro", "seats=3", "note=a=b"], '{"plan": "free", "x": 1}', what="trait") == {
        "plan": "pro",
        "x": 1,
        "seats": 3,
        "note": "a=b",
    }
    with pytest.raises(SendError, match="KEY=VALUE"):
        assignments(["=x"], None, what="prop")


def test_send_rejects_malformed_values_and_reports_an_unreachable_api() -> None:
    bad = send("track", "u1", "viewed", "--prop", "no-equals-sign")
    assert bad.exit_code == 2 and "write KEY=VALUE" in bad.output
    bad = send("identify", "u1", "--traits-json", "[1]")
    assert bad.exit_code == 2 and "must be a JSON object" in bad.output
    down = send("track", "u1", "viewed", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.exit_code == 1 and "cannot reach the API" in down.output


def test_journey_api_refuses_to_start_without_keys(tmp_path: Path) -> None:
    env = {"JOURNEY_API_KEYS": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'journey.db'}"}
    result = CliRunner().invoke(main, ["api"], env=env)
    assert result.exit_code == 2 and "JOURNEY_API_KEYS is not set" in result.output
