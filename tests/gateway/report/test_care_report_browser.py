"""The weekly care report end to end: a simulated home whose routine changes (more night
bathroom visits, later mornings) is simulated to a trace, `safehome report` replays it and
writes the page, and a real browser (Debian's chromium via Playwright) shows it at phone
and desktop width: nothing sticks out sideways, the charts are drawn, the texts are Finnish.

Set SAFEHOME_SCREENSHOTS=DIR (scripts/report-screenshots.sh does) to save the pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.cli import main
from simulator.engine import simulate_to
from simulator.scenario import load_scenario
from tests.gateway.console.test_console_browser import browser, fits  # noqa: F401 - browser is the chromium fixture
from tests.support.console_util import DESKTOP, PHONE, screenshot

SCENARIO = Path(__file__).resolve().parents[3] / "simulator/scenarios/home-trends-decline.toml"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The 60-day home's trace and its report in Finnish and English (one replay each)."""
    tmp = tmp_path_factory.mktemp("report")
    trace = tmp / "home.mcap"
    simulate_to(str(trace), load_scenario(SCENARIO), seed=3)
    out = {}
    for lang in ("fi", "en"):
        out[lang] = tmp / f"report-{lang}.html"
        assert main(["report", str(trace), "--lang", lang, "-o", str(out[lang])]) == 0
    return out


def test_the_report_is_one_self_contained_page_naming_the_changes(reports):
    fi = reports["fi"].read_text(encoding="utf-8")
    en = reports["en"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", fi), "no external resources"
    assert "<script" not in fi and fi.count("<svg") >= 8, "inline charts, no scripts"
    assert len(fi.encode()) < 60_000, "small enough to send as a page"
    # the scripted changes are told in plain words, in the report's language
    assert "Aamun alkaminen: myöhemmin kuin tavallisesti" in fi, "this week against the usual"
    assert "yölliset WC-käynnit: enemmän kuin tavallisesti" in fi, "the change the home reported"
    assert "Start of the morning: later than usual" in en
    assert "night-time bathroom visits: more than usual" in en
    assert "kuin tavallisesti" not in en


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_the_report_reads_on_a_phone_and_a_desktop(reports, browser, size):  # noqa: F811 - the fixture imported above
    ctx = await browser.new_context(viewport=size, locale="fi-FI")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: errors.append("request " + r.url)
            if not r.url.startswith("file:") else None)
    await page.goto(reports["fi"].as_uri())
    await fits(page, size, "report")
    assert await page.locator("h1").inner_text() == "Viikkoraportti"
    assert "Huomatut muutokset" in await page.locator("h2").first.inner_text()
    charts = page.locator("figure svg.chart")
    assert await charts.count() >= 8
    for i in range(await charts.count()):
        box = await charts.nth(i).bounding_box()
        assert box is not None and box["width"] >= min(280, size["width"] - 60) and box["height"] > 60, \
            f"chart {i} is drawn at a readable size: {box}"
    assert errors == []
    await screenshot(page, f"report-fi-{'phone' if size is PHONE else 'desktop'}")
    await ctx.close()
