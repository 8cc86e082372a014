"""The outbox's order and re-send rules, with a controllable clock."""

from __future__ import annotations

import time

from gateway.events import Event
from gateway.outbox import Outbox


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def ev(seq: int, type_name: str) -> Event:
    return Event(f"id-{seq}", seq, type_name, "info", time.time(), time.time(), {"en": ""})


def test_alarms_go_before_other_events_each_oldest_first():
    box = Outbox(clock=Clock())
    for seq, t in [(1, "sensor_silent"), (2, "sos"), (3, "gateway_started"), (4, "fall"), (5, "sos")]:
        box.add(ev(seq, t))
    assert [e.event.seq for e in box.due()] == [2, 4, 5, 1, 3]
    assert [e.event.seq for e in box.due(limit=2)] == [2, 4]


def test_an_alarm_waits_ack_timeout_then_is_due_again_with_more_attempts():
    clock = Clock()
    box = Outbox(ack_timeout=30, clock=clock)
    box.add(ev(1, "sos"))
    box.add(ev(2, "sensor_restored"))
    for e in box.due():
        e.in_flight = True
    box.published("id-1")
    box.published("id-2")
    assert "id-2" not in box.entries, "a non-alarm event is done once the broker has it"
    assert box.due() == [] and box.unacknowledged == 1 and box.pending == 0
    clock.t += 29.9
    assert box.due() == []
    clock.t += 0.1
    (again,) = box.due()
    assert again.event.id == "id-1" and again.attempts == 1
    assert box.acknowledged("id-1") is not None and box.entries == {}


def test_a_failed_publish_is_due_at_once_and_expiry_stops_resending():
    clock = Clock()
    box = Outbox(ack_timeout=10, expire_after=60, clock=clock)
    box.add(ev(1, "sos"))
    (e,) = box.due()
    e.in_flight = True
    box.failed("id-1")
    assert box.due()[0].attempts == 0
    box.due()[0].in_flight = True
    box.published("id-1")
    clock.t += 61
    assert [x.event.id for x in box.expired()] == ["id-1"] and box.entries == {}


def test_an_alarm_escalates_once_at_its_deadline_even_if_no_copy_reached_the_broker():
    clock = Clock()
    box = Outbox(ack_timeout=4, escalate_after=2 * 4, clock=clock)
    box.add(ev(1, "sos"))
    box.add(ev(2, "sensor_silent"))
    clock.t += 7.9
    assert box.to_escalate() == [] and abs(box.next_escalation_in() - 0.1) < 1e-9
    clock.t += 0.1
    assert [e.event.id for e in box.to_escalate()] == ["id-1"], "no PUBACK was ever needed"
    assert box.to_escalate() == [] and box.next_escalation_in() is None, "only once"
    assert "id-1" in box.entries, "re-sending goes on after the escalation"


def test_an_acknowledged_alarm_never_escalates():
    clock = Clock()
    box = Outbox(ack_timeout=4, escalate_after=8, clock=clock)
    box.add(ev(1, "sos"))
    box.acknowledged("id-1")
    clock.t += 100
    assert box.to_escalate() == []


async def test_a_publish_that_ends_after_its_session_wakes_the_next_drain():
    """A publish still in flight when its session ended finishes (fails or succeeds)
    later; the new session's drain skipped that entry and may be asleep with nothing
    else due. The outcome must wake it, or the alarm waits for the next event."""
    box = Outbox(ack_timeout=5.0)
    box.add(ev(1, "sos"))
    box.due()[0].in_flight = True          # taken by the old session's publish
    box.changed.clear()                    # the new drain found nothing due and sleeps
    box.failed(ev(1, "sos").id)
    assert box.changed.is_set() and len(box.due()) == 1
    box.due()[0].in_flight = True
    box.changed.clear()
    box.published(ev(1, "sos").id)          # the PUBACK came after all: a new re-send time
    assert box.changed.is_set()
