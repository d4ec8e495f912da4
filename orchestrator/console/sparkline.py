"""A small inline SVG bar chart of a daily series: one bar per day, a day with nothing an empty slot.

The SVG is an image with a `<title>` and an aria-label that say what it shows in
words ("entries per day, 30 days, total 123, most 17 on 2026-12-01"). The exact
numbers, for a screen reader and for anyone who wants them, are the caller's job:
put a visually hidden `<table>` of the same series next to the chart. Every text
here is escaped, so the string may go into a page as is (`|safe` in Jinja2).
"""

from __future__ import annotations

from html import escape

_BAR_WIDTH = 4
_GAP = 1
_HEIGHT = 24
_BAR_COLOUR = "#0072B2"
_BASELINE = "#999999"


def daily_bars_svg(series: list[tuple[str, int]], *, label: str) -> str:
    """`series`: (ISO day, count) in day order, every day of the range present (0 for a day with nothing).

    `label` says what is counted ("entries per day"); the summary adds the days, the total and the busiest day.
    """
    summary = _summary(series, label)
    width = max(len(series), 1) * (_BAR_WIDTH + _GAP)
    most = max((count for _, count in series), default=0)
    bars = []
    for k, (day, count) in enumerate(series):
        if count <= 0:
            continue
        # at least one pixel, so a day with a single entry next to a day with thousands still shows
        height = max(1.0, _HEIGHT * count / most)
        bars.append(
            f'<rect x="{k * (_BAR_WIDTH + _GAP)}" y="{_HEIGHT - height:.1f}" width="{_BAR_WIDTH}" '
            f'height="{height:.1f}" fill="{_BAR_COLOUR}"><title>{escape(day)}: {count:,}</title></rect>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" aria-label="{escape(summary)}" '
        f'viewBox="0 0 {width} {_HEIGHT + 1}" width="{width}" height="{_HEIGHT + 1}" preserveAspectRatio="none">'
        f"<title>{escape(summary)}</title>"
        f'<line x1="0" y1="{_HEIGHT + 0.5}" x2="{width}" y2="{_HEIGHT + 0.5}" stroke="{_BASELINE}" stroke-width="1"/>'
        + "".join(bars)
        + "</svg>"
    )


def _summary(series: list[tuple[str, int]], label: str) -> str:
    days = len(series)
    total = sum(count for _, count in series)
    said = f"{label}, {days} day{'s' if days != 1 else ''}, total {total:,}"
    if total:
        # the first busiest day when several tie, so the words do not change with the order of equal days
        day, most = max(series, key=lambda item: item[1])
        said += f", most {most:,} on {day}"
    return said
