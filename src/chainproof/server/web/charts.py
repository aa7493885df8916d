"""Inline SVG charts for the dashboard, drawn on the server: pure functions, no database.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its
``<desc>`` (``aria-labelledby``), so a screen reader announces what it shows; the pages put
the same figures in a data table beside it. Every text that goes into the SVG is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

#: The stacked series of the runs chart, bottom to top, with their CSS classes.
SERIES = ("succeeded", "failed", "blocked")
#: What each outcome letter of a workflow's recent history means (services/workflow_stats).
OUTCOMES = {
    "s": "succeeded",
    "v": "succeeded with a policy violation",
    "b": "blocked",
    "f": "failed",
    "c": "cancelled",
    "e": "expired",
}


@dataclass(frozen=True)
class Day:
    """Runs that finished (or were blocked) on one day."""

    day: date
    succeeded: int = 0
    failed: int = 0
    blocked: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.blocked


def _nice_max(value: int) -> int:
    """The axis top: ``value`` rounded up to 1, 2 or 5 times a power of ten (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def runs_chart(
    days: Sequence[Day], *, chart_id: str = "runs-chart", width: int = 720, height: int = 200
) -> Markup:
    """Stacked bars of succeeded / failed / blocked runs per day, oldest day on the left."""
    title = f"Runs per day, last {len(days)} days"
    total = sum(d.total for d in days)
    busiest = max(days, key=lambda d: d.total, default=None)
    desc = f"{total} runs in all" + (
        f"; busiest day {busiest.day.isoformat()} with {busiest.total}"
        if busiest and busiest.total
        else ""
    )
    top = _nice_max(busiest.total if busiest else 0)
    left, plot_h = 40, height - 30
    slot = (width - left) / max(len(days), 1)
    bar = max(slot * 0.75, 1.0)
    parts = [
        f'<line class="axis" x1="{left}" y1="{10 + plot_h}" x2="{width}" y2="{10 + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="{10 + plot_h}" text-anchor="end">0</text>',
        f'<text class="tick" x="{left - 4}" y="14" text-anchor="end">{top}</text>',
    ]
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar) / 2
        y = 10.0 + plot_h
        for series in SERIES:
            count = getattr(day, series)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(
                f'<rect class="bar-{series}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}"><title>{escape(day.day.isoformat())}: {count} {series}'
                "</title></rect>"
            )
    if days:  # the first and last days under their bars, kept inside the drawing
        for index, anchor in ((0, "start"), (len(days) - 1, "end")):
            x = left + index * slot + (0 if anchor == "start" else slot)
            label = escape(days[index].day.strftime("%d %b"))
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{height - 2}" text-anchor="{anchor}">'
                f"{label}</text>"
            )
    return _svg(chart_id, title, desc, width, height, parts, "chart")


def sparkline(
    recent: str, *, chart_id: str = "sparkline", width: int = 120, height: int = 24
) -> Markup:
    """One bar per recent finished run (``recent`` newest first), oldest on the left, coloured
    by outcome; failed, blocked and expired runs hang below the middle line."""
    letters = list(reversed(recent))
    title = f"Last {len(letters)} finished runs" if letters else "No finished runs yet"
    desc = ", ".join(OUTCOMES.get(letter, "unknown") for letter in letters) or "nothing to show"
    slot = width / max(len(letters), 1)
    middle = height / 2
    parts = [f'<line class="axis" x1="0" y1="{middle}" x2="{width}" y2="{middle}"/>']
    for index, letter in enumerate(letters):
        outcome = OUTCOMES.get(letter, "unknown")
        down = letter in "fbe"
        y = middle if down else 2.0
        parts.append(
            f'<rect class="spark-{escape(letter)}" x="{index * slot + 1:.1f}" y="{y:.1f}" '
            f'width="{max(slot - 2, 1):.1f}" height="{middle - 2:.1f}"><title>{escape(outcome)}'
            "</title></rect>"
        )
    return _svg(chart_id, title, desc, width, height, parts, "sparkline")


def _svg(
    chart_id: str, title: str, desc: str, width: int, height: int, parts: list[str], cls: str
) -> Markup:
    ident = escape(chart_id)
    head = (
        f'<svg class="{cls}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    )
    # Safe: every text and attribute value placed in the parts was escaped where it was put.
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704
