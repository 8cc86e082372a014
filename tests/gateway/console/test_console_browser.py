"""The installer's console in a real browser (Debian's chromium, driven by Playwright):
the demo home served by `safehome run`, a real broker and a centre that acknowledges.

Set SAFEHOME_SCREENSHOTS=DIR (scripts/console-screenshots.sh does) to save every page at
phone (390x844) and desktop (1280x800) width.
"""

from __future__ import annotations

import re
import signal

import pytest

from gateway.centre.receiver import Centre
from tests.support.console_util import (
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
from tests.support.gateway_proc import GatewayProcess

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


def watch(page) -> list[str]:
    """Script errors and what the Content-Security-Policy refused (a style attribute, an
    inline script): the security headers must not break the console's own pages."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if (
        "Content Security Policy" in msg.text or "Refused to" in msg.text) else None)
    return errors


async def fits(page, size: dict[str, int], name: str) -> None:
    """Nothing sticks out sideways: no element is wider than the screen (long paths wrap)."""
    wide = await page.evaluate("""(w) => [...document.querySelectorAll('main *')]
        .filter((e) => e.offsetParent !== null && !(e instanceof SVGElement) && (
            e.getBoundingClientRect().right > w + 1 ||
            (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 &&
             getComputedStyle(e).overflowX === 'visible')))
        .map((e) => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 60))""",
                               size["width"])
    assert not wide, f"{name} page at {size['width']} px: {wide[:5]}"


async def test_console_shows_the_sensors_and_a_test_alarm_comes_back_acknowledged(demo, browser):
    from playwright.async_api import expect
    base, gw = demo
    status, sensors = get_json(base + "/api/sensors")
    assert status == 200 and [s["id"] for s in sensors] == SENSORS
    assert all(s["state"] in ("ok", "waiting") for s in sensors)

    ctx = await browser.new_context(viewport=PHONE, locale="en-GB")
    page = await ctx.new_page()
    errors = watch(page)
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
        errors = watch(page)
        await page.goto(base + "/?lang=en#sensors")
        await expect(page.locator("#sensor-list [data-sensor]")).to_have_count(len(SENSORS), timeout=15000)
        await screenshot(page, f"sensors-{size_name}")
        await fits(page, size, "sensors")

        await page.click('#tabs a[href="#plan"]')
        radar = page.locator('[data-radar="radar-living"]')
        await expect(radar.locator("svg.plan")).to_be_visible(timeout=15000)
        await expect(radar.locator("table.mounting")).to_contain_text("not measured yet")
        if size_name == "phone":  # the demo's resident walks into the living room before the fall
            await expect(radar.locator("circle.target").first).to_be_attached(timeout=45000)
        await screenshot(page, f"plan-{size_name}")
        await fits(page, size, "plan")

        await page.click('#tabs a[href="#walk"]')
        if size_name == "phone":  # the walk test runs in the daemon: the desktop page sees it
            await page.click("#walk-start")
        await expect(page.locator("#walk-list li.seen").first).to_be_visible(timeout=20000)
        await expect(page.locator("#walk-progress")).to_contain_text(re.compile(r"[1-4] of 4"))
        await screenshot(page, f"walk-{size_name}")
        await fits(page, size, "walk")

        await page.click('#tabs a[href="#test"]')
        if size_name == "phone":
            await page.click("#test-send")
        await expect(page.locator('#test-steps [data-step="acknowledged"]')).to_have_class("done", timeout=20000)
        await screenshot(page, f"test-{size_name}")
        await fits(page, size, "test")

        await page.click('#tabs a[href="#doctor"]')
        await expect(page.locator("#doctor-list li").first).to_be_visible(timeout=15000)
        await expect(page.locator("#doctor-list")).to_contain_text("uplink: test alarm")
        await screenshot(page, f"doctor-{size_name}")
        await fits(page, size, "doctor")

        await page.click('#tabs a[href="#events"]')
        await expect(page.locator('#event-list li[data-type="test_alarm"]').first).to_contain_text(
            "acknowledged by operator-7", timeout=15000)
        await screenshot(page, f"events-{size_name}")
        await fits(page, size, "events")

        await page.click('#tabs a[href="#config"]')
        await expect(page.locator("#config-view dt").first).to_have_text("gateway_id", timeout=15000)
        await screenshot(page, f"config-{size_name}")
        await fits(page, size, "config")

        for lang, sensors_tab, valid in (("fi", "Anturit", "kelvollinen"), ("sv", "Sensorer", "giltig")):
            await page.select_option("#lang", lang)
            await expect(page.locator('#tabs a[href="#sensors"]')).to_have_text(sensors_tab)
            await expect(page.locator("#config-valid")).to_contain_text(valid)
            await page.click('#tabs a[href="#sensors"]')
            await expect(page.locator("#sensor-list [data-sensor]")).to_have_count(len(SENSORS))
            await screenshot(page, f"sensors-{size_name}-{lang}")
            await fits(page, size, f"sensors ({lang})")
            await page.click('#tabs a[href="#config"]')
        await ctx.close()
        assert not errors, errors


async def test_room_plan_draws_a_ti_radars_people_points_zones_and_configured_mounting(
        mosquitto, tmp_path, browser):
    """A pty-emulated IWR6843AOP (people tracking: targets, heights, points) behind the
    daemon's ti_mmwave driver; the mounting comes from the chirp config's sensorPosition."""
    from playwright.async_api import expect

    from simulator.emulators import ti_mmwave as E
    from tests.support.broker import free_port
    from tests.support.gateway_proc import write_home
    port = free_port()
    frames = E.walking_then_fall(400, fps=20.0, fall_at=8.0)
    with E.TiRadarEmulator(frames, fps=20.0, loop=True) as emu:
        cfg = write_home(tmp_path, mosquitto.url, f"""\
            gateway_id = "gw-test-01"
            site_id = "site-test"
            [[rooms]]
            id = "living"
            name = {{ fi = "olohuone", sv = "vardagsrum", en = "living room" }}
            [[sensors]]
            id = "radar-living"
            type = "ti_mmwave"
            room = "living"
            placement = "wall"
            [sensors.settings]
            cli_port = "{emu.cli_path}"
            data_port = "{emu.data_path}"
            config = "iwr6843aop_wall"
            [[detectors.radar_fall.lying_zones]]
            name = "sofa"
            x = [-2.2, -1.0]
            y = [1.0, 2.0]
            [[detectors.radar_fall.blind_zones]]
            name = "table"
            x = [1.0, 2.0]
            y = [3.0, 4.0]
        """, extra=f'[console]\nlisten = "127.0.0.1:{port}"\n')
        gw = GatewayProcess(cfg).start()
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/api/overview")
            for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
                ctx = await browser.new_context(viewport=size, locale="en-GB")
                page = await ctx.new_page()
                await page.goto(base + "/?lang=en#plan")
                radar = page.locator('[data-radar="radar-living"]')
                await expect(radar.locator("circle.target").first).to_be_attached(timeout=20000)
                await expect(radar.locator("circle.point").first).to_be_attached(timeout=20000)
                await expect(radar.locator("rect.zone.lying")).to_have_count(1)
                await expect(radar.locator("rect.zone.blind")).to_have_count(1)
                mounting = radar.locator("table.mounting")
                await expect(mounting).to_contain_text("2.00 m")
                await expect(mounting).to_contain_text("15 °")
                await expect(mounting).to_contain_text("not measured yet")
                await screenshot(page, f"plan-ti-radar-{size_name}")
                await ctx.close()
            status, radars = get_json(base + "/api/radar")
            assert status == 200 and radars[0]["mounting"]["height_m"]["configured"] == 2.0
            assert radars[0]["targets"] and radars[0]["points"]
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0, gw.output()[-3000:]


async def test_off_loopback_the_browser_logs_in_with_a_one_time_link_and_sees_live_data(
        mosquitto, tmp_path, browser):
    import subprocess
    import sys
    import textwrap

    from playwright.async_api import expect

    from tests.support.broker import free_port
    from tests.support.gateway_proc import REPO, write_config
    port = free_port()
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 3600",
                       extra=textwrap.dedent(f"""\
                           [console]
                           listen = "0.0.0.0:{port}"
                           one_time_links = true
                           """))
    gw = GatewayProcess(cfg).start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/")
        out = subprocess.run([sys.executable, "-m", "gateway.cli", "console", "link", "--config",
                              str(cfg), "--host", "127.0.0.1", "--no-qr"], cwd=REPO,
                             capture_output=True, text=True, timeout=60, check=True)
        link = out.stdout.splitlines()[0]
        for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            ctx = await browser.new_context(viewport=size, locale="en-GB")
            page = await ctx.new_page()
            await page.goto(base + "/")
            await expect(page.locator("input#token")).to_be_visible()
            await screenshot(page, f"login-{size_name}")
            await ctx.close()
        ctx = await browser.new_context(viewport=PHONE, locale="en-GB")
        page = await ctx.new_page()
        errors = watch(page)
        await page.goto(link)
        assert "link=" not in page.url, "the code leaves the address bar"
        await expect(page.locator('#sensor-list [data-sensor="pendant"] .pill.state')).to_have_text(
            "OK", timeout=15000)  # the live stream works with the session cookie
        await page.click('#tabs a[href="#walk"]')    # a POST from the page passes the Origin check
        await page.click("#walk-start")
        await expect(page.locator("#walk-progress")).not_to_be_empty(timeout=10000)
        await ctx.close()
        assert not errors, errors
        ctx = await browser.new_context(viewport=PHONE, locale="en-GB")
        page = await ctx.new_page()
        await page.goto(link)   # spent: another browser gets the login page
        await expect(page.locator("input#token")).to_be_visible()
        await ctx.close()
    finally:
        gw.signal(signal.SIGTERM)
        assert gw.wait() == 0, gw.output()[-3000:]


async def test_the_security_headers_keep_the_pages_working_and_no_other_site_can_frame_them(
        demo, browser):
    """Issue 26 item 8: every response carries a Content-Security-Policy without
    'unsafe-inline', and the console's own pages still draw (the silence bar's width is set
    through the CSSOM, which the policy allows); another site's iframe stays empty."""
    from playwright.async_api import expect
    base, _ = demo
    ctx = await browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = await ctx.new_page()
    errors = watch(page)
    response = await page.goto(base + "/?lang=en#sensors")
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    await expect(page.locator("#sensor-list [data-sensor]")).to_have_count(len(SENSORS), timeout=15000)
    widths = await page.evaluate(
        "[...document.querySelectorAll('.bar-fill')].map((e) => e.style.width)")
    assert widths and all(w.endswith("%") for w in widths), widths
    for name in PAGES:
        await page.click(f'#tabs a[href="#{name}"]')
        await expect(page.locator(f"#page-{name}")).to_be_visible()
    assert not errors, errors

    # A page on another origin that frames the console: the frame must stay empty.
    await page.route("http://attacker.test/", lambda route: route.fulfill(
        content_type="text/html", body=f'<iframe id="f" src="{base}/"></iframe>'))
    await page.goto("http://attacker.test/")
    await page.wait_for_timeout(2000)
    frame = page.frame_locator("#f")
    assert await frame.locator("#sensor-list").count() == 0, "the console loaded inside a frame"
    assert [f.url for f in page.frames][1].startswith("chrome-error:"), "chromium refused the frame"
    await ctx.close()
