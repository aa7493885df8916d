"""The dashboard's inline SVG charts: accessible, escaped, proportional."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from defusedxml.ElementTree import fromstring

from chainproof.server.web.charts import Day, runs_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return fromstring(str(markup))  # type: ignore[no-any-return]


def _bars(root: ET.Element, cls: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == cls]


def test_the_runs_chart_is_named_and_described_for_screen_readers() -> None:
    start = date(2026, 11, 8)
    days = [Day(start + timedelta(days=n)) for n in range(30)]
    days[3] = Day(days[3].day, succeeded=5, failed=2, blocked=1)
    days[29] = Day(days[29].day, succeeded=1)
    root = _parse(runs_chart(days, chart_id="c1"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Runs per day, last 30 days"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text  # type: ignore[union-attr]
    assert desc == "9 runs in all; busiest day 2026-11-11 with 8"


def test_bars_stack_in_proportion_to_the_axis_top() -> None:
    day = Day(date(2026, 12, 1), succeeded=6, failed=3, blocked=1)
    root = _parse(runs_chart([day], height=110))  # plot height 80, axis top 10
    heights = {
        s: float(_bars(root, f"bar-{s}")[0].get("height", "0"))
        for s in ("succeeded", "failed", "blocked")
    }
    assert heights == {"succeeded": 48.0, "failed": 24.0, "blocked": 8.0}
    ys = {s: float(_bars(root, f"bar-{s}")[0].get("y", "0")) for s in heights}
    assert ys["succeeded"] > ys["failed"] > ys["blocked"]  # succeeded at the bottom
    ticks = [t.text for t in root.iter(f"{SVG}text")]
    assert "10" in ticks and "0" in ticks


def test_an_empty_month_draws_no_bars() -> None:
    days = [Day(date(2026, 12, 1) + timedelta(days=n)) for n in range(3)]
    root = _parse(runs_chart(days))
    assert not list(root.iter(f"{SVG}rect"))
    assert root.find(f"{SVG}desc").text == "0 runs in all"  # type: ignore[union-attr]


def test_the_sparkline_reads_oldest_to_newest() -> None:
    root = _parse(sparkline("sfvb", chart_id="w1"))
    classes = [r.get("class") for r in root.iter(f"{SVG}rect")]
    assert classes == ["spark-b", "spark-v", "spark-f", "spark-s"]
    desc = root.find(f"{SVG}desc").text  # type: ignore[union-attr]
    assert desc == "blocked, succeeded with a policy violation, failed, succeeded"
    down = [float(r.get("y", "0")) for r in root.iter(f"{SVG}rect")]
    assert down[0] == down[2] == 12.0 and down[1] == down[3] == 2.0


def test_a_workflow_without_runs_has_an_empty_sparkline() -> None:
    root = _parse(sparkline(""))
    assert root.find(f"{SVG}title").text == "No finished runs yet"  # type: ignore[union-attr]
    assert not list(root.iter(f"{SVG}rect"))


def test_text_in_the_svg_is_escaped() -> None:
    markup = str(sparkline("s", chart_id='x"><script>'))
    assert "<script>" not in markup
    assert re.search(r'id="x&#34;&gt;&lt;script&gt;-title"', markup)
