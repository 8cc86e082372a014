"""The local "are you OK?" prompt: repeated while a suspected fall's window is open, stopped
by its alarm or cancel, never in the alarm path's way (real subprocesses, a gpiod fake at
the GPIO boundary); and in the real daemon, with a Zigbee button through real mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator

import aiomqtt
import pytest

from gateway import local_prompt
from gateway.config import parse_config
from gateway.events import Event
from gateway.local_prompt import PHRASES, LocalPrompt
from gateway.prompt_config import PromptConfig
from tests.support.doubles import fake_gpiod
from tests.support.gateway_proc import GatewayProcess, Listener, write_home

CHIP = "/dev/gpiochip0"


def event(type_name: str, id_: str, ref: str | None = None, at: float | None = None) -> Event:
    return Event(id_, 1, type_name, "warning", time.time() if at is None else at, time.time(),
                 {"en": type_name}, room="living", ref=ref)


class Owner:
    """What the daemon gives the prompt: spawn owned tasks, cancel them all at the end."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.append(task)
        return task


def prompt(actions: list[dict], window: float = 30.0, **kw: Any) -> tuple[LocalPrompt, Owner]:
    owner = Owner()
    cfg = PromptConfig.model_validate({"enabled": True, "actions": actions, "repeat_s": 2, **kw})
    return LocalPrompt(cfg, window, owner.spawn), owner


def writer(path: Path) -> dict:
    """A command action that appends its phrase and language to `path`."""
    return {"type": "command", "language": "sv",
            "command": [sys.executable, "-c",
                        f"import sys; open({str(path)!r}, 'a').write(sys.argv[1] + '|' + sys.argv[2] + '\\n')",
                        "{language}", "{text}"]}


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_the_prompt_repeats_until_the_window_is_cancelled_then_stops(tmp_path):
    out = tmp_path / "said.txt"
    p, owner = prompt([writer(out)])
    p.notice([event("fall_suspected", "s1")])
    await asyncio.sleep(4.6)                     # at 0, 2 and 4 s
    said = lines(out)
    assert len(said) == 3 and said[0] == f"sv|{PHRASES['sv']}"
    p.notice([event("alarm_cancelled", "c1", ref="s1")])
    await asyncio.sleep(2.5)
    assert len(lines(out)) == 3, "the cancel stopped it"
    assert all(t.done() for t in owner.tasks)


async def test_the_alarm_of_another_suspicion_does_not_stop_it_but_its_own_does(tmp_path):
    out = tmp_path / "said.txt"
    p, owner = prompt([writer(out)])
    p.notice([event("fall_suspected", "s1")])
    await asyncio.sleep(0.5)
    p.notice([event("fall", "f0", ref="older")])
    await asyncio.sleep(2.0)
    assert len(lines(out)) == 2
    p.notice([event("fall", "f1", ref="s1")])
    await asyncio.sleep(2.5)
    assert len(lines(out)) == 2
    await p.close()


async def test_the_prompt_ends_by_itself_after_the_window(tmp_path):
    out = tmp_path / "said.txt"
    p, owner = prompt([writer(out)], window=1.0)
    p.notice([event("fall_suspected", "s1")])
    await asyncio.wait_for(asyncio.gather(*owner.tasks), 10)   # window 1 s + slack 5 s
    assert 1 <= len(lines(out)) <= 4
    p.notice([event("fall_suspected", "s2", at=time.time() - 60)])   # its window is long over
    assert len(owner.tasks) == 1


async def test_a_failing_or_hanging_command_is_logged_once_and_never_raises(tmp_path, caplog):
    out = tmp_path / "said.txt"
    p, owner = prompt([{"type": "command", "command": ["/nonexistent/speaker", "{text}"]},
                       {"type": "command", "command": ["sleep", "30"]},
                       writer(out)], timeout_s=0.5)
    with caplog.at_level(logging.WARNING, logger="safehome.prompt"):
        p.notice([event("fall_suspected", "s1")])
        await asyncio.sleep(4.5)
        p.notice([event("fall", "f1", ref="s1")])
        await asyncio.sleep(0.3)
    assert len(lines(out)) >= 2, "the working action still plays"
    assert p.failures[0] >= 2 and p.failures[1] >= 2
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and "action 1" in warned[0] and "killed" in warned[1]
    await p.close()
    assert all(t.done() for t in owner.tasks)


async def test_a_buzzer_on_a_gpio_line_sounds_each_round_and_is_released(monkeypatch):
    gpio = fake_gpiod.FakeGpio()
    gpio.add_chip(CHIP)
    monkeypatch.setattr(local_prompt, "import_gpiod", gpio.module)
    p, _ = prompt([{"type": "gpio", "chip": CHIP, "line": "GPIO18", "on_s": 0.3,
                    "active_low": True}])
    p.notice([event("fall_suspected", "s1")])
    await asyncio.sleep(2.5)
    p.notice([event("alarm_cancelled", "c1", ref="s1")])
    await asyncio.sleep(0.2)
    line = gpio.chips[CHIP][18]
    levels = [level for _, level in line.driven]
    # idle high (active low), low while sounding, twice (0 s and 2 s), then idle and freed
    assert levels == [True, False, True, False, True]
    times = [t for t, _ in line.driven]
    assert times[2] - times[1] == pytest.approx(0.3, abs=0.1)
    assert line.requested_by is None, "the line is released when the window closes"


async def test_a_missing_gpio_chip_is_a_logged_failure(monkeypatch, caplog):
    gpio = fake_gpiod.FakeGpio()
    monkeypatch.setattr(local_prompt, "import_gpiod", gpio.module)
    p, _ = prompt([{"type": "gpio", "chip": "/dev/gpiochip9", "line": 18}])
    with caplog.at_level(logging.WARNING, logger="safehome.prompt"):
        p.notice([event("fall_suspected", "s1")])
        await asyncio.sleep(0.2)
    assert "no GPIO chip /dev/gpiochip9" in caplog.text
    await p.close()


def test_the_prompt_is_off_by_default_and_its_config_is_checked():
    base = {"gateway_id": "gw-1", "site_id": "site-1"}
    assert parse_config(base, env={}).alarm.prompt.enabled is False
    cfg = parse_config({**base, "alarm": {"prompt": {"enabled": True, "actions": [
        {"type": "speak", "language": "fi"}, {"type": "gpio", "line": 18}]}}}, env={})
    speak = cfg.alarm.prompt.actions[0]
    assert local_prompt.argv_for(speak, event("fall_suspected", "s1")) == \
        ["espeak-ng", "-v", "fi", PHRASES["fi"]]
    with pytest.raises(Exception, match=r"alarm.prompt.actions\[0\].gpio.pin: unknown key 'pin'"):
        parse_config({**base, "alarm": {"prompt": {"enabled": True, "actions": [
            {"type": "gpio", "pin": 18}]}}}, env={})
    with pytest.raises(Exception, match="needs a cancel window"):
        parse_config({**base, "alarm": {"cancel_window": 0, "prompt": {
            "enabled": True, "actions": [{"type": "speak"}]}}}, env={})


# --- the real daemon ----------------------------------------------------------------

def quick_fall(tmp: Path) -> Path:
    """The shipped demo flat (waist band and living-room radar) falling 8 s in."""
    from simulator.live import SCENARIOS
    text = (SCENARIOS / "demo.toml").read_text().replace('at = "+30s"', 'at = "+8s"')
    path = tmp / "quick-fall.toml"
    path.write_text(text.replace('duration = "5m"', 'duration = "2m"'))
    return path


def home(tmp: Path, broker: str, said: Path, window: float) -> Path:
    scenario = quick_fall(tmp)
    command = json.dumps([sys.executable, "-c",
                          f"import sys; open({str(said)!r}, 'a').write(sys.argv[1] + '\\n')",
                          "{text}"])
    return write_home(tmp, broker, f"""\
        gateway_id = "gw-prompt-01"
        site_id = "site-test"
        [alarm]
        cancel_window = {window}
        [alarm.prompt]
        enabled = true
        repeat_s = 3
        [[alarm.prompt.actions]]
        type = "command"
        language = "en"
        command = {command}
        [[rooms]]
        id = "living"
        [[sensors]]
        id = "sim"
        type = "simulated"
        timeout = 60
        [sensors.settings]
        scenario = "{scenario}"
        sensors = ["wearable", "radar-living"]
        [[sensors]]
        id = "ok-button"
        type = "zigbee2mqtt"
        room = "living"
        timeout = 600
        [sensors.settings]
        broker = "{broker}"
        friendly_name = "ok_button"
        device = "sos_button"
        sos_actions = ["hold"]
        cancel_actions = ["single"]
        """, name="gw-prompt-01")


async def first(centre: Listener, type_name: str, timeout: float) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for body in centre.on("event") + centre.on("alarm"):
            if body.get("type") == type_name:
                return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {type_name}: {[b.get('type') for b in centre.on('event')]}")


@contextlib.asynccontextmanager
async def daemon(broker: Any, cfg: Path) -> AsyncIterator[tuple[Listener, GatewayProcess, dict]]:
    """The centre listening, the gateway running, and its first `fall_suspected`."""
    async with Listener(broker.host, broker.port) as centre:
        gw = GatewayProcess(cfg).start()
        try:
            yield centre, gw, await first(centre, "fall_suspected", 60)
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0, gw.output()[-3000:]


async def stays(path: Path, seconds: float = 4.0) -> int:
    """How many times the prompt had played, after checking it plays no more."""
    n = len(lines(path))
    await asyncio.sleep(seconds)
    assert len(lines(path)) == n, "the prompt stopped when the window closed"
    return n


async def test_the_daemon_prompts_and_a_zigbee_button_cancels(mosquitto, tmp_path):
    said = tmp_path / "said.txt"
    async with daemon(mosquitto, home(tmp_path, mosquitto.url, said, window=40)) as (centre, gw, suspected):
        await asyncio.sleep(4.0)
        assert len(lines(said)) >= 2, gw.output()[-2000:]
        assert lines(said)[0] == PHRASES["en"]
        async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="z2m") as z:
            await z.publish("zigbee2mqtt/ok_button", json.dumps({"action": "single"}), qos=1)
        cancelled = await first(centre, "alarm_cancelled", 10)
        await stays(said)
        assert centre.on("alarm") == [], "no alarm went to the centre"
    assert cancelled["ref"] == suspected["id"] and cancelled["evidence"]["by_button"] == 1
    assert cancelled["sensor"] == "ok-button"


async def test_the_daemon_prompts_until_the_alarm_goes_out(mosquitto, tmp_path):
    said = tmp_path / "said.txt"
    async with daemon(mosquitto, home(tmp_path, mosquitto.url, said, window=8)) as (centre, _, suspected):
        alarm = await first(centre, "fall", 20)
        n = await stays(said)
    assert alarm["ref"] == suspected["id"]
    assert 2 <= n <= 4, "an 8 s window, repeated every 3 s"
