"""Who may open the console: login, the session cookie's flags, CSRF on POST, logout, no open redirect, open under dev."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orchestrator.console.access import COOKIE, ConsoleAccess, ConsoleSettings, local_target
from orchestrator.store import Store
from tests.console.support import API_KEY, PASSWORD, app_for, console_client, csrf_token, log_in, migrated_store, parsed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = migrated_store(tmp_path)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with console_client(app_for(store)) as opened:
        yield opened


def test_a_page_without_a_session_sends_to_the_login_which_brings_back(client: TestClient) -> None:
    answer = client.get("/console?sort=waiting&order=desc")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console%3Fsort%3Dwaiting%26order%3Ddesc"
    login = client.get(answer.headers["location"])
    assert login.status_code == 200 and 'name="next" value="/console?sort=waiting&amp;order=desc"' in login.text
    back = client.post("/console/login", data={"password": API_KEY, "next": "/console?sort=waiting&order=desc"})
    assert back.status_code == 303 and back.headers["location"] == "/console?sort=waiting&order=desc"
    assert client.get("/console").status_code == 200


def test_any_api_key_is_the_password_when_no_console_password_is_set(store: Store) -> None:
    with console_client(app_for(store, api_keys=frozenset({"key-one", "key-two"}))) as client:
        log_in(client, "key-two")
        assert client.get("/console").status_code == 200


def test_the_console_password_replaces_the_keys_when_set(store: Store) -> None:
    with console_client(app_for(store, console=ConsoleSettings(password=PASSWORD))) as client:
        assert client.post("/console/login", data={"password": API_KEY}).status_code == 401
        log_in(client, PASSWORD)
        assert client.get("/console").status_code == 200


def test_every_wrong_password_gets_the_same_answer_and_no_cookie(client: TestClient) -> None:
    answers = [client.post("/console/login", data={"password": guess, "next": "/console"}) for guess in ("x", API_KEY[:-1], "")]
    assert {answer.status_code for answer in answers} == {401}
    assert len({parsed(answer.text).texts["login-error"][0] for answer in answers}) == 1
    assert all("set-cookie" not in answer.headers for answer in answers)
    assert client.get("/console").status_code == 303


async def test_a_wrong_password_is_answered_after_the_delay_and_a_right_one_at_once() -> None:
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    access = ConsoleAccess(("secret",), open=False, sleep=record)
    assert not await access.password_accepted("guess")
    assert await access.password_accepted("secret")
    assert waited == [1.0]


def test_the_session_cookie_is_httponly_strict_scoped_to_the_console_and_expires(client: TestClient) -> None:
    answer = client.post("/console/login", data={"password": API_KEY})
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("httponly", "samesite=strict", "path=/console", "max-age=43200"):
        assert flag in cookie
    assert "secure" not in cookie  # plain HTTP: a browser would not keep a Secure cookie


@pytest.mark.parametrize(("base_url", "headers"), [("https://testserver", {}), ("http://testserver", {"X-Forwarded-Proto": "https"})])
def test_the_session_cookie_is_secure_over_https_or_behind_a_tls_proxy(store: Store, base_url: str, headers: dict[str, str]) -> None:
    with console_client(app_for(store), base_url=base_url) as client:
        answer = client.post("/console/login", data={"password": API_KEY}, headers=headers)
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_a_forged_or_expired_cookie_is_no_session(store: Store) -> None:
    clock = [1_000_000.0]
    access = ConsoleAccess((API_KEY,), open=False, clock=lambda: clock[0])
    value = access.new_session()
    assert _nonce(access, value) is not None
    expiry, nonce, signature = value.split(".")
    assert _nonce(access, f"{int(expiry) + 3600}.{nonce}.{signature}") is None  # a longer session is not signed
    assert _nonce(access, f"{expiry}.{nonce}.{'0' * len(signature)}") is None
    clock[0] += 12 * 3600 + 1
    assert _nonce(access, value) is None
    other = ConsoleAccess(("another password",), open=False, clock=lambda: 1_000_000.0)
    assert _nonce(other, value) is None  # a new password ends the sessions of the old one


def _nonce(access: ConsoleAccess, cookie: str) -> str | None:
    from starlette.requests import Request

    scope = {"type": "http", "method": "GET", "path": "/console", "headers": [(b"cookie", f"{COOKIE}={cookie}".encode())]}
    return access.session_nonce(Request(scope))


def test_logout_needs_the_sessions_csrf_token(client: TestClient) -> None:
    log_in(client)
    page = client.get("/console").text
    refused = client.post("/console/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "csrf-refused" in parsed(refused.text).texts and "reload the page and send the form again" in refused.text
    assert client.post("/console/logout", data={}).status_code == 403
    assert client.get("/console").status_code == 200  # still signed in: nothing was changed
    out = client.post("/console/logout", data={"csrf_token": csrf_token(page)})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert out.headers["set-cookie"].startswith(f"{COOKIE}=") and "max-age=0" in out.headers["set-cookie"].lower()
    assert client.get("/console").status_code == 303


def test_the_csrf_token_of_one_session_does_not_work_in_another(store: Store) -> None:
    app = app_for(store)
    with console_client(app) as first, console_client(app) as second:
        log_in(first)
        log_in(second)
        token = csrf_token(first.get("/console").text)
        assert second.post("/console/logout", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize(
    "asked",
    ["https://evil.example/", "//evil.example/console", "/\\evil.example", "/other", "/console.evil", "javascript:alert(1)",
     "/console/login", "http://testserver/console"],
)  # fmt: skip
def test_the_login_never_sends_anywhere_but_a_console_page(client: TestClient, asked: str) -> None:
    answer = client.post("/console/login", data={"password": API_KEY, "next": asked})
    assert answer.headers["location"] == "/console"
    assert local_target(asked) == "/console"


def test_the_console_is_open_under_journey_dev_without_keys(store: Store) -> None:
    with console_client(app_for(store, api_keys=None, auth_disabled=True)) as client:
        answer = client.get("/console")
        assert answer.status_code == 200
        assert "Log out" not in answer.text
        assert client.get("/console/login").headers["location"] == "/console"


def test_under_journey_dev_a_console_password_still_asks_for_a_login(store: Store) -> None:
    with console_client(app_for(store, api_keys=None, auth_disabled=True, console=ConsoleSettings(password=PASSWORD))) as client:
        assert client.get("/console").status_code == 303


def test_with_no_password_anywhere_the_login_page_says_what_to_set(store: Store) -> None:
    with console_client(app_for(store, api_keys=None)) as client:
        assert client.get("/console").status_code == 303
        page = parsed(client.get("/console/login").text)
    assert "JOURNEY_CONSOLE_PASSWORD" in page.texts["login-unconfigured"][0]
