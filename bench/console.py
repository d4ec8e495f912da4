"""The console's speed: the journey page of a journey with 1M enrollments, on the server and in headless Chromium.

usage: .venv/bin/python bench/console.py [--enrollments 1000000] [--calls 50] [--loads 10] [--facts-file PATH]
                                         [--data-dir PATH] [--no-browser]

The store is bench/analytics.py's: one journey (welcome email, a wait, an A/B split with a 10% holdout, an
offer per arm, a reminder, a 7-day goal), its IR deployed, and the facts of `--enrollments` enrollments over
60 days, recorded and folded as that benchmark does. `--data-dir` keeps the loaded store and reuses it on the
next run with the same enrollments (the facts of 1M take about 20 minutes to load). The real API app
(`create_app`, console included, open as under `journey dev`) is served by uvicorn on 127.0.0.1; Temporal is
not needed by these pages, so the app gets a lazy client that never connects.

Server: GET /console/journeys/{id} over all time and over the last 7 days of entries, alternating with its
baseline, the stats API (GET /v1/journeys/{id}/stats) for the same range in the same process: the page is
that report plus its own work (graph, charts, templates), and the ratio page/report shows that work. GET
/console (the Journeys list: the journey list and two reports a journey) is timed against GET /v1/journeys.
Each time is a whole request over a kept-alive local connection, `--calls` of each, p50 and p95.

Browser: Debian's Chromium headless through Playwright (tests/browser.py's flags), a fresh context a load (so
the stylesheet and htmx are fetched too), the load event's end from navigation start; the baseline is the same
page's HTML, captured once and served as it is by the same server (same size, same assets, no report), so the
ratio shows what the server's work adds to what a person waits for. `--loads` of each, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from analytics import DAYS, JOURNEY, START, fold, generate, load
from embedded_stack import HASH_SECRET, api_server, open_store, percentile, scratch_dir
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from temporalio.client import Client
from temporalio.service import RetryConfig

from orchestrator.api import ApiSettings, create_app
from orchestrator.console.rendering import secured
from orchestrator.host.devserver import free_port
from orchestrator.store import Store

PAGE_TARGET_MS = 300.0
LOAD_TARGET_MS = 1500.0
CHROMIUM = "/usr/bin/chromium"
# tests/browser.py's, for the reasons given there (no sandbox as root, no background calls to Google's hosts).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip
COPY_PATH = "/bench/journey-page-copy"
"""Where the browser's baseline is served: the journey page's HTML, captured once."""


async def lazy_temporal() -> Client:
    """A client that never connects: the console's pages and the stats API read the store only."""
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True, retry_config=RetryConfig(max_retries=0))


def console_app(store: Store, copy: dict[str, str]) -> FastAPI:
    """The API app as `journey dev` builds it (no keys, console open), plus the baseline page `copy["html"]`."""
    app = create_app(
        store, lazy_temporal, api_keys=None, auth_disabled=True, hash_secret=HASH_SECRET, task_queue="unused",
        search_attributes=False, settings=ApiSettings(),
    )  # fmt: skip

    @app.get(COPY_PATH, response_class=HTMLResponse)
    def page_copy() -> HTMLResponse:
        # The console's headers too: the same Content-Security-Policy applies to the copy's assets.
        return secured(HTMLResponse(copy["html"]))

    return app


@contextlib.contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` on a loop of its own in a thread (Playwright's sync API and the timing client run in this one)."""
    ready: queue.Queue[str | BaseException] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        try:
            async with api_server(app) as url:
                ready.put(url)
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as problem:
            ready.put(problem)
            raise

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="console-bench-server")
    thread.start()
    try:
        answer = ready.get(timeout=60)
        if isinstance(answer, BaseException):
            raise RuntimeError("the API did not start") from answer
        yield answer
    finally:
        stop.set()
        thread.join(30)


@contextlib.contextmanager
def loaded_store(data_dir: Path, enrollments: int, facts_file: Path | None) -> Iterator[Store]:
    """The analytics bench's store in `data_dir`, loaded and folded unless a run before left it so (its marker file)."""
    marker = data_dir / f"loaded-{enrollments}"
    with open_store(data_dir) as store:
        if marker.exists():
            print(f"reusing the store in {data_dir} ({enrollments:,} enrollments)")
        else:
            path = facts_file or data_dir / "facts.marshal"
            if not path.exists():
                generate(path, enrollments)
            fold(store, load(store, path))
            marker.touch()
        yield store


def timed_requests(http: httpx.Client, paths: dict[str, str], calls: int) -> dict[str, list[float]]:
    """Each path `calls` times, in turn (so a noisy moment falls on every side), in milliseconds; each answer must be 200."""
    timings: dict[str, list[float]] = {label: [] for label in paths}
    for path in paths.values():  # one warm-up each: templates compiled, connection open
        http.get(path).raise_for_status()
    for _ in range(calls):
        for label, path in paths.items():
            started = time.perf_counter()
            answer = http.get(path)
            timings[label].append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
    return timings


def watch(page: Any, problems: list[str]) -> None:
    """Collect what the page reports as errors, with the resource's address (a failed load names none in its text)."""
    page.on("console", lambda message: message.type == "error" and problems.append(f"{message.text}: {message.location['url']}"))
    page.on("pageerror", lambda error: problems.append(str(error)))


def browser_loads(base_url: str, paths: dict[str, str], loads: int) -> tuple[dict[str, list[float]], list[str]]:
    """Each path loaded `loads` times in turn, each in a fresh browser context; the load event's end in ms, and any page errors."""
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {label: [] for label in paths}
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            for round_ in range(loads + 1):  # the first round warms Chromium up and is not counted
                for label, path in paths.items():
                    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 900})
                    page = context.new_page()
                    watch(page, problems)
                    page.goto(path, wait_until="load")
                    page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
                    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                    context.close()
                    if round_:
                        timings[label].append(float(loaded))
        finally:
            browser.close()
    return timings, problems


def report(title: str, target: float | None, page: list[float], baseline: list[float], baseline_name: str) -> None:
    p50, p95 = percentile(page, 50), percentile(page, 95)
    b50, b95 = percentile(baseline, 50), percentile(baseline, 95)
    verdict = "" if target is None else f"  {'met' if p95 <= target else 'MISSED'} (target p95 <= {target:.0f} ms)"
    print(f"  {title:28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{verdict}")
    print(f"  {'  ' + baseline_name:28} p50 {b50:7.1f} ms  p95 {b95:7.1f} ms  ratio p50 {p50 / b50:4.2f}, p95 {p95 / b95:4.2f}")


def run(store: Store, args: argparse.Namespace) -> None:
    last = (START + timedelta(days=DAYS - 1)).date()
    week = f"from={(last - timedelta(days=6)).isoformat()}&to={last.isoformat()}"
    journey = JOURNEY.id
    copy: dict[str, str] = {"html": ""}
    with served(console_app(store, copy)) as url, httpx.Client(base_url=url, timeout=120) as http:
        copy["html"] = http.get(f"/console/journeys/{journey}").text
        if 'data-testid="journey-graph"' not in copy["html"]:
            sys.exit("the journey page shows no graph: this would time something else\n" + copy["html"][:2000])
        print(f"store: SQLite; the journey page is {len(copy['html']):,} bytes of HTML; {args.calls} calls each")
        server: dict[str, str] = {
            "page, all time": f"/console/journeys/{journey}",
            "stats, all time": f"/v1/journeys/{journey}/stats",
            "page, 7 days": f"/console/journeys/{journey}?{week}",
            "stats, 7 days": f"/v1/journeys/{journey}/stats?{week}",
            "journeys list": "/console",
            "GET /v1/journeys": "/v1/journeys",
        }
        times = timed_requests(http, server, args.calls)
        print("server time (GET to the last byte, kept-alive local connection):")
        report("journey page, all time", PAGE_TARGET_MS, times["page, all time"], times["stats, all time"], "stats API, all time")
        report("journey page, 7 days", PAGE_TARGET_MS, times["page, 7 days"], times["stats, 7 days"], "stats API, 7 days")
        report("journeys list (/console)", None, times["journeys list"], times["GET /v1/journeys"], "GET /v1/journeys")
        if args.no_browser:
            return
        loads, problems = browser_loads(url, {"page": f"/console/journeys/{journey}", "copy": COPY_PATH}, args.loads)
        print(f"browser (headless Chromium, load event end from navigation start, {args.loads} loads each):")
        report("journey page, all time", LOAD_TARGET_MS, loads["page"], loads["copy"], "its HTML served as is")
        for problem in dict.fromkeys(problems):
            print(f"  page error: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=50, help="requests of each kind for the server times")
    parser.add_argument("--loads", type=int, default=10, help="browser loads of each page")
    parser.add_argument("--facts-file", type=Path, help="generated facts, reused when it exists (default: in the data dir)")
    parser.add_argument("--data-dir", type=Path, help="keep the loaded store here and reuse it (default: a scratch dir)")
    parser.add_argument("--no-browser", action="store_true", help="server times only")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.data_dir is not None:
            args.data_dir.mkdir(parents=True, exist_ok=True)
            data_dir = args.data_dir
        else:
            data_dir = stack.enter_context(scratch_dir())
        store = stack.enter_context(loaded_store(data_dir, args.enrollments, args.facts_file))
        run(store, args)


if __name__ == "__main__":
    sys.exit(main())
