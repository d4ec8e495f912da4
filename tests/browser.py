"""Headless Chromium for the console's browser tests: Debian's `chromium`, driven by Playwright's Python package.

Playwright never downloads a browser here: it launches the one Debian installs (`apt-get install chromium`,
which .ci/run does), with the flags a closed network needs (without the background-networking ones Chromium
keeps trying to reach Google's hosts and every start is slow). Without a browser the tests skip, saying how to
get one; CI sets JOURNEY_REQUIRE_BROWSER=1 so there a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium refuses its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageProblems:
    """What a page reported while it was used: console errors and uncaught exceptions (none are allowed)."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        # Each says the page it came from: a test opens several pages with one PageProblems.
        page.on("console", lambda message: message.type == "error" and self.messages.append(f"console ({page.url}): {message.text}"))
        page.on("pageerror", lambda error: self.messages.append(f"uncaught ({page.url}): {error}"))
        return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module. Not per session: Playwright's sync API keeps an asyncio loop running
    while it is open, and every async test that pytest runs after it would fail ("cannot be called from a running
    event loop")."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("JOURNEY_REQUIRE_BROWSER"):
            pytest.fail("JOURNEY_REQUIRE_BROWSER is set but there is no chromium: apt-get install chromium")
        pytest.skip("no headless browser: apt-get install chromium to run the console's browser tests (CI does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()
