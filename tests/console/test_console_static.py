"""The console's static files and the headers every console answer carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orchestrator.console.rendering import STATIC
from tests.console.support import app_for, console_client, log_in, migrated_store


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = migrated_store(tmp_path)
    try:
        with console_client(app_for(store)) as opened:
            yield opened
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("console.css", "text/css"), ("htmx.min.js", "text/javascript"), ("LICENSE-htmx.txt", "text/plain"), ("icon.svg", "image/svg+xml")],
)
def test_static_files_are_served_without_a_login_with_their_content_types(client: TestClient, name: str, content_type: str) -> None:
    answer = client.get(f"/console/static/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == content_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.content == (STATIC / name).read_bytes()


@pytest.mark.parametrize("name", ["nope.css", "..%2Fapp.py", "%2E%2E%2Frendering.py"])
def test_only_the_static_files_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"/console/static/{name}").status_code == 404


def test_every_page_names_an_icon_the_console_serves_so_the_browser_never_asks_for_a_missing_favicon(client: TestClient) -> None:
    pages = [client.get("/console/login").text]
    log_in(client)
    pages.append(client.get("/console").text)
    for html in pages:
        found = re.search(r'<link rel="icon"[^>]* href="([^"]+)"', html)
        assert found, "no icon: the browser asks for /favicon.ico, a 404 reported as a console error"
        answer = client.get(found.group(1))
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"


def test_every_page_sends_the_security_headers(client: TestClient) -> None:
    pages = [client.get("/console/login"), client.get("/console")]  # the login page, then the redirect to it
    log_in(client)
    pages.append(client.get("/console"))
    for answer in pages:
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert pages[0].headers["cache-control"] == "no-store"  # the login page


def test_pages_hold_nothing_the_policy_refuses_and_htmx_is_told_not_to_inject_styles(client: TestClient) -> None:
    log_in(client)
    html = client.get("/console").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script: the policy refuses it"
    assert not re.search(r"\sstyle=", html) and "<style" not in html, "an inline style: the policy refuses it"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler: the policy refuses it"
    assert '<script src="/console/static/htmx.min.js" defer></script>' in html
    # htmx 2 adds a <style> for its indicators unless told not to; under style-src 'self' that is a console error.
    assert re.search(r'<meta name="htmx-config" content=\'\{[^\']*"includeIndicatorStyles": false', html)
    assert '<html lang="en">' in html and '<meta name="viewport"' in html
