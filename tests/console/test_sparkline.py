"""The daily bar chart beside each journey: one bar per day, its summary in words, its text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from orchestrator.console.sparkline import daily_bars_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_one_bar_per_day_with_entries_and_an_empty_slot_for_a_day_without() -> None:
    series = [("2026-11-29", 3), ("2026-11-30", 0), ("2026-12-01", 17), ("2026-12-02", 1)]
    root = ET.fromstring(daily_bars_svg(series, label="entries per day"))
    bars = [(rect.findtext(f"{SVG}title"), float(rect.get("height") or 0)) for rect in root.iter(f"{SVG}rect")]
    assert [title for title, _ in bars] == ["2026-11-29: 3", "2026-12-01: 17", "2026-12-02: 1"]
    heights = dict(bars)
    assert heights["2026-12-01: 17"] > heights["2026-11-29: 3"] > 0 and heights["2026-12-02: 1"] >= 1
    xs = [float(rect.get("x") or 0) for rect in root.iter(f"{SVG}rect")]
    assert xs[1] - xs[0] == 2 * (xs[2] - xs[1]), "the empty day keeps its slot"


def test_the_summary_says_the_days_the_total_and_the_busiest_day() -> None:
    series = [(f"2026-11-{day:02d}", 0) for day in range(2, 31)] + [("2026-12-01", 17)]
    series[3] = ("2026-11-05", 106)
    svg = daily_bars_svg(series, label="entries per day")
    root = ET.fromstring(svg)
    said = "entries per day, 30 days, total 123, most 106 on 2026-11-05"
    assert root.get("role") == "img" and root.get("aria-label") == said and root.findtext(f"{SVG}title") == said


def test_no_entries_at_all_draws_no_bar_and_says_so() -> None:
    root = ET.fromstring(daily_bars_svg([("2026-12-01", 0), ("2026-12-02", 0)], label="entries per day"))
    assert list(root.iter(f"{SVG}rect")) == []
    assert root.get("aria-label") == "entries per day, 2 days, total 0"


def test_the_label_is_escaped() -> None:
    svg = daily_bars_svg([("2026-12-01", 2)], label='<script>"x"</script>')
    assert "<script>" not in svg
    assert ET.fromstring(svg).findtext(f"{SVG}title") == '<script>"x"</script>, 1 day, total 2, most 2 on 2026-12-01'
