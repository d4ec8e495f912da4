"""What the console's pages show, read from a real browser page by their `data-testid` and `data-*` hooks.

Each reader returns plain values shaped like the part of the stats API's document it is compared with, so a
test can say `assert graph_of(page) == graph_from(stats)`. Numbers are read as the page writes them
(`1,234`), commas dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])"
"""What a keyboard user must be able to reach with Tab."""
_NAME = "n => `${n.tagName.toLowerCase()} ${n.getAttribute('href') || n.getAttribute('name') || ''} ${n.textContent.trim().slice(0, 40)}`"
"""An element as the keyboard test names it: tag, link target or field name, and its text."""


def number(text: str) -> int:
    return int(text.strip().replace(",", ""))


def text_of(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text()).strip()


def graph_of(page: Any) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    """The graph's steps as {id: (reached, waiting)} and its counted arrows as {"source->target": count}."""
    steps = page.eval_on_selector_all(
        "[data-testid=journey-graph] [data-step]",
        "nodes => nodes.map(n => [n.dataset.step, Number(n.dataset.reached), Number(n.dataset.waiting)])",
    )
    edges = page.eval_on_selector_all(
        "[data-testid=journey-graph] [data-edge][data-count]", "nodes => nodes.map(n => [n.dataset.edge, Number(n.dataset.count)])"
    )
    return {step: (reached, waiting) for step, reached, waiting in steps}, dict(edges)


def funnel_of(page: Any, steps: list[str]) -> dict[str, dict[str, int]]:
    """The funnel's row of each step: the counts it shows, by their testid (reached, waiting, sent...)."""
    rows = {}
    for step in steps:
        cells = page.eval_on_selector_all(
            f"[data-testid=funnel] [data-testid='step-{step}'] [data-testid]", "cells => cells.map(c => [c.dataset.testid, c.innerText])"
        )
        rows[step] = {name: number(value) for name, value in cells}
    return rows


def split_of(page: Any, step: str) -> tuple[str, dict[str, tuple[int, int, int]]]:
    """The split's verdict as written, and each group's (assigned, matured, converted)."""
    verdict = text_of(page, f"[data-testid='verdict-{step}']")
    arms = page.eval_on_selector_all(
        f"[data-testid='split-{step}'] tbody tr",
        """rows => rows.map(r => [r.dataset.testid.slice(4),
              ...['assigned', 'matured', 'converted'].map(k => r.querySelector(`[data-testid=${k}]`).innerText)])""",
    )
    return verdict, {arm: (number(a), number(m), number(c)) for arm, a, m, c in arms}


def journey_row_of(page: Any, journey_id: str) -> dict[str, str]:
    """The Journeys table's row of one journey: each cell's text by its testid."""
    cells = page.eval_on_selector_all(
        f"[data-testid=journeys-table] tr[data-journey='{journey_id}'] [data-testid]",
        "cells => cells.map(c => [c.dataset.testid, c.innerText.trim()])",
    )
    return dict(cells)


def broadcast_runs_of(page: Any) -> dict[str, dict[str, Any]]:
    """A broadcast's runs table, keyed by run id, each row shaped like its run in `GET /v1/journeys/{id}/broadcasts`:
    `started_at` as its `<time>` says it, `state`, the counts as numbers, `suppressed` as {reason: count}."""
    rows = page.eval_on_selector_all(
        "[data-testid=broadcast-runs] tbody tr",
        """rows => rows.map(r => [r.dataset.testid.slice(4), r.querySelector('[data-testid=started] time').getAttribute('datetime'),
              Object.fromEntries([...r.querySelectorAll('[data-testid]')].map(c => [c.dataset.testid, c.innerText.trim()])),
              Object.fromEntries([...r.querySelectorAll('[data-reason]')].map(c => [c.dataset.reason, c.innerText]))])""",
    )
    counts = ("pages", "enrolled", "sent", "failed", "remaining")
    return {
        run: {"started_at": started, "state": cells["state"], **{name: number(cells[name]) for name in counts},
              "profiles_to_read": number(cells["to-read"]), "suppressed": {reason: number(n) for reason, n in reasons.items()}}
        for run, started, cells, reasons in rows
    }  # fmt: skip


def timeline_messages(page: Any) -> list[dict[str, str]]:
    """Each message of a customer's timeline: what its details list says (journey, step, status...)."""
    entries = page.eval_on_selector_all(
        "[data-testid=timeline] [data-testid=timeline-entry][data-kind=message]",
        """entries => entries.map(e => Object.fromEntries(
              [...e.querySelectorAll('dl.details dt')].map(dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()])))""",
    )
    return list(entries)


def scrolls_sideways(page: Any) -> bool:
    """Whether the page itself is wider than the window (a table scrolling inside its own box does not count)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"))


def reachable_by_tab(page: Any, presses: int) -> tuple[list[str], list[str]]:
    """Press Tab `presses` times from the top: (every interactive element that is shown, those focus reached with an outline).

    Elements are named by tag, link target and text, so an element the live region redraws (htmx swaps it)
    is the same one before and after. An element counts as reached when it showed a focus outline at least
    once: a date input takes several presses (day, month, year, then its calendar button, whose ring the
    browser draws inside the input).
    """
    wanted = page.eval_on_selector_all(
        INTERACTIVE,
        f"""nodes => nodes.filter(n => !n.closest('details:not([open])') || n.tagName === 'SUMMARY')
                          .filter(n => n.getClientRects().length > 0 || n.classList.contains('skip-link'))
                          .map({_NAME})""",
    )
    reached = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            f"""() => {{ const n = document.activeElement; if (!n || n === document.body) return null;
                        const style = getComputedStyle(n);
                        return [({_NAME})(n), style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0]; }}"""
        )
        if focused is None:
            continue
        name, outlined = focused
        if outlined:
            reached.append(name)
    return wanted, reached


def save_screenshot(page: Any, name: str, folders: list[Path]) -> list[Path]:
    """The whole page as `<name>.png` in each folder."""
    image = page.screenshot(full_page=True, type="png")
    saved = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.png").write_bytes(image)
        saved.append(folder / f"{name}.png")
    return saved
