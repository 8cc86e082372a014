"""The installer's console in a real browser (Debian's chromium, driven by Playwright):
the demo home served by `safehome run`, a real broker and a centre that acknowledges.

Set SAFEHOME_SCREENSHOTS=DIR (scripts/console-screenshots.sh does) to save every page at
phone (390x844) and desktop (1280x800) width.
"""

from __future__ import annotations

import re
import signal

import pytest

from gateway.centre import Centre
from tests.console_util import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    demo_home_with_console,
    get_json,
    require_browser,
    screenshot,
    wait_http,
)
from tests.gateway_proc import GatewayProcess

PAGES = ("sensors", "plan", "walk", "test", "doctor", "events", "config")
SENSORS = ["wearable", "radar-living", "pir-kitchen", "door-front"]


@pytest.fixture
async def browser():
    require_browser()
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def demo(mosquitto, tmp_path):
    """The demo home running with a console on loopback, and a centre that acks as operator-7."""
    cfg, port = demo_home_with_console(tmp_path)
    async with Centre(mosquitto.url, auto_ack=True, ack_by="operator-7"):
        gw = GatewayProcess(cfg, "--broker", mosquitto.url).start()
        try:
            wait_http(f"http://127.0.0.1:{port}/api/overview")
            yield f"http://127.0.0.1:{port}", gw
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0, gw.output()[-3000:]


async def test_console_shows_the_sensors_and_a_test_alarm_comes_back_acknowledged(demo, browser):
    from playwright.async_api import expect
    base, gw = demo
    status, sensors = get_json(base + "/api/sensors")
    assert status == 200 and [s["id"] for s in sensors] == SENSORS
    assert all(s["state"] in ("ok", "waiting") for s in sensors)

    ctx = await browser.new_context(viewport=PHONE, locale="en-GB")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base + "/?lang=en#sensors")
    cards = page.locator("#sensor-list [data-sensor]")
    await expect(cards).to_have_count(len(SENSORS), timeout=15000)
    await expect(page.locator('#sensor-list [data-sensor="radar-living"] .pill.state')).to_have_text("OK", timeout=15000)
    await expect(page.locator('#sensor-list [data-sensor="wearable"]')).to_contain_text("/s")

    await page.click('#tabs a[href="#test"]')
    await page.click("#test-send")
    for step in ("committed", "sent", "acknowledged"):
        await expect(page.locator(f'#test-steps [data-step="{step}"]')).to_have_class("done", timeout=20000)
    await expect(page.locator('#test-steps [data-step="acknowledged"]')).to_contain_text("operator-7")
    await expect(page.locator("#test-steps")).to_contain_text("Acknowledged")
    assert "test alarm" in gw.output() and "acknowledged by operator-7" in gw.output()
    await page.close()
    await ctx.close()
    assert not errors, errors


async def test_every_page_renders_at_phone_and_desktop_width_in_three_languages(demo, browser):
    from playwright.async_api import expect
    base, _ = demo
    for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        ctx = await browser.new_context(viewport=size, locale="en-GB")
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        await page.goto(base + "/?lang=en#sensors")
        await expect(page.locator("#sensor-list [data-sensor]")).to_have_count(len(SENSORS), timeout=15000)
        await screenshot(page, f"sensors-{size_name}")

        await page.click('#tabs a[href="#plan"]')
        radar = page.locator('[data-radar="radar-living"]')
        await expect(radar.locator("svg.plan")).to_be_visible(timeout=15000)
        await expect(radar.locator("table.mounting")).to_contain_text("not measured yet")
        if size_name == "phone":  # the demo's resident walks into the living room before the fall
            await expect(radar.locator("circle.target").first).to_be_attached(timeout=45000)
        await screenshot(page, f"plan-{size_name}")

        await page.click('#tabs a[href="#walk"]')
        if size_name == "phone":  # the walk test runs in the daemon: the desktop page sees it
            await page.click("#walk-start")
        await expect(page.locator("#walk-list li.seen").first).to_be_visible(timeout=20000)
        await expect(page.locator("#walk-progress")).to_contain_text(re.compile(r"[1-4] of 4"))
        await screenshot(page, f"walk-{size_name}")

        await page.click('#tabs a[href="#test"]')
        if size_name == "phone":
            await page.click("#test-send")
        await expect(page.locator('#test-steps [data-step="acknowledged"]')).to_have_class("done", timeout=20000)
        await screenshot(page, f"test-{size_name}")

        await page.click('#tabs a[href="#doctor"]')
        await expect(page.locator("#doctor-list li").first).to_be_visible(timeout=15000)
        await expect(page.locator("#doctor-list")).to_contain_text("uplink: test alarm")
        await screenshot(page, f"doctor-{size_name}")

        await page.click('#tabs a[href="#events"]')
        await expect(page.locator('#event-list li[data-type="test_alarm"]').first).to_contain_text(
            "acknowledged by operator-7", timeout=15000)
        await screenshot(page, f"events-{size_name}")

        await page.click('#tabs a[href="#config"]')
        await expect(page.locator("#config-view dt").first).to_have_text("gateway_id", timeout=15000)
        await screenshot(page, f"config-{size_name}")

        for lang, sensors_tab, valid in (("fi", "Anturit", "kelvollinen"), ("sv", "Sensorer", "giltig")):
            await page.select_option("#lang", lang)
            await expect(page.locator('#tabs a[href="#sensors"]')).to_have_text(sensors_tab)
            await expect(page.locator("#config-valid")).to_contain_text(valid)
            await page.click('#tabs a[href="#sensors"]')
            await expect(page.locator("#sensor-list [data-sensor]")).to_have_count(len(SENSORS))
            await screenshot(page, f"sensors-{size_name}-{lang}")
            await page.click('#tabs a[href="#config"]')
        # Nothing overflows sideways on a phone: the page is as wide as the screen.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"page is {width} px wide at {size_name} width"
        await ctx.close()
        assert not errors, errors
