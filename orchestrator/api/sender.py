"""`journey send`: post identify and track calls to a running API from the shell."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx


class SendError(ValueError):
    """A command-line value that cannot be sent (bad k=v, bad JSON)."""


def parse_value(text: str) -> Any:
    """`42` -> 42, `true` -> True, `"x"` -> "x", `{"a": 1}` -> a dict; anything that is not JSON stays a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def assignments(pairs: Iterable[str], json_text: str | None, *, what: str) -> dict[str, Any]:
    """The object `--<what>s-json` gives, updated with each `--<what> k=v` (those win)."""
    values: dict[str, Any] = {}
    if json_text is not None:
        try:
            loaded = json.loads(json_text)
        except ValueError as exc:
            raise SendError(f"--{what}s-json is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SendError(f'--{what}s-json must be a JSON object, like \'{{"plan": "pro"}}\'')
        values.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SendError(f"--{what} {pair!r}: write KEY=VALUE, e.g. --{what} plan=pro or --{what} cart_value=42")
        values[key.strip()] = parse_value(value)
    return values


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def pretty(self) -> str:
        try:
            return json.dumps(json.loads(self.body), indent=2, ensure_ascii=False)
        except ValueError:
            return self.body


def post(url: str, path: str, payload: dict[str, Any], api_key: str | None, *, timeout: float = 30.0) -> Answer:
    """POST `payload` to `url` + `path` with the key as a bearer token. Raises httpx.HTTPError when unreachable."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = httpx.post(url.rstrip("/") + path, json=payload, headers=headers, timeout=timeout)
    return Answer(response.status_code, response.text)
