"""One detector's view of the home's shared tracker, and the pool of trackers a home has.

Why apart from detectors/activity.py: that module says what activity and "away" are (the
rules, one HomeTracker per distinct rule); this one says how several detectors read one
tracker without updating it once each: the pipeline's `HomeTrackers.track(readings)` runs
every tracker once per batch, and each detector's `HomeView.seen` walks the batch with the
home's state as it was right after each reading, stepping over radar frames that saw
nobody while no deadline can fall among them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping

from detectors.activity import HomeTracker, Seen
from sensordata.readings import RadarTargets


class HomeView:
    """One detector's reading of a shared HomeTracker: what each reading was, and the
    home's state as it was right after it (`away`, `present_now`), as if the detector had
    its own tracker. `last_activity` is the view's own (a detector may reset it, as the
    inactivity timer does after an outage); everything else is the tracker's."""

    __slots__ = ("tracker", "last_activity", "away", "present_now", "room")

    def __init__(self, tracker: HomeTracker) -> None:
        self.tracker = tracker
        #: the room a configured sensor is in (None for worn or unknown sensors)
        self.room: Callable[[str], str | None] = tracker._rooms.get
        tracker.views += 1
        self.last_activity: float | None = tracker.last_activity
        self.away = tracker.away
        self.present_now = tracker.present_now

    def seen(self, readings: Iterable[Any], advance: Callable[[float, Any], None],
             out: Any, *, empty_radar: bool | Callable[[], bool] = True,
             due: Callable[[], float] | None = None) -> Iterator[tuple[Any, float, str | None]]:
        """Each reading with a time, its time and what it was, after `advance(t, out)`
        moved the detector's time to it (as TimedDetector.timed: a deadline that passed
        before the reading fires first, and sees the home as it was before it).
        `empty_radar=False`: radar frames that saw nobody (two thirds of a two-radar home's
        readings) move time and the view's state but are not yielded, for a detector that
        would do nothing with them. With `due` as well (the detector's
        `TimedDetector.next_due`), such frames whose times are all before it are not even
        passed to `advance`: by that contract the call that follows (the next reading's,
        at a time no earlier) does all they would have done; after the batch's last busy
        reading, one call with their latest time does. Everything else is as without.
        With `due`, `empty_radar` may also be a function: whether the detector wants such a
        frame now (asked after its `advance`, for a frame that is not stepped over), for a
        detector that does something with them only at times; its `next_due` must then be
        -inf whenever it would want one."""
        items = self.tracker.items(readings)
        if due is not None and empty_radar is not True:
            yield from self._stepping(items, advance, out, due,
                                      None if empty_radar is False else empty_radar)
            return
        if callable(empty_radar):
            raise TypeError("HomeView.seen: a function as empty_radar needs due")
        for r, t, what, away, present in items:
            advance(t, out)
            self.away = away
            self.present_now = present
            if what is None:
                if not empty_radar and isinstance(r, RadarTargets):
                    continue
            elif what == "inside" or what == "door":
                last = self.last_activity
                if last is None or t > last:
                    self.last_activity = t
            yield r, t, what

    def _stepping(self, items: list[Seen], advance: Callable[[float, Any], None], out: Any,
                  due: Callable[[], float], wanted: Callable[[], bool] | None,
                  ) -> Iterator[tuple[Any, float, str | None]]:
        """`seen` with `due`: the radar frames that saw nobody between two busy readings
        are replayed one by one (and handed on where `wanted()` says so) only when one of
        them could matter (its time is not before `due()`, or after the next busy
        reading's)."""
        start = 0   # the first item not handled yet
        busy = self.tracker._busy
        for seen, gap, end in busy[:-1]:   # the last: the empty frames after the last busy item
            r, t, what, away, present = seen  # type: ignore[misc]
            i = end - 1
            if i > start:   # empty frames first
                d = due()
                if gap <= t and gap < d:
                    if not t < d:   # this `advance` may look at the home: as after them
                        _, _, _, self.away, self.present_now = items[i - 1]
                else:
                    for r_, t_, _, away_, present_ in items[start:i]:
                        advance(t_, out)
                        self.away = away_
                        self.present_now = present_
                        if wanted is not None and wanted():
                            yield r_, t_, None
            advance(t, out)
            self.away = away
            self.present_now = present
            if what == "inside" or what == "door":
                last_activity = self.last_activity
                if last_activity is None or t > last_activity:
                    self.last_activity = t
            yield r, t, what
            start = end
        if start < len(items):
            gap = busy[-1][1]
            if gap < due():
                advance(gap, out)   # their latest time: all they would have done
                _, _, _, self.away, self.present_now = items[-1]
            else:
                for r, t, _, away, present in items[start:]:
                    advance(t, out)
                    self.away = away
                    self.present_now = present
                    if wanted is not None and wanted():
                        yield r, t, None

    def state(self) -> dict[str, Any]:
        return {**self.tracker.state(), "last_activity": self.last_activity}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Detectors sharing a tracker saved the same home state; the last restored wins."""
        self.tracker.restore(state)
        self.last_activity = self.tracker.last_activity
        self.away = self.tracker.away
        self.present_now = self.tracker.present_now


class HomeTrackers:
    """A home's trackers, one per distinct rule (outer doors, moving speed, wearable
    threshold), shared by all its detectors (module docstring)."""

    def __init__(self, sensors: Mapping[str, Any]) -> None:
        self.sensors = sensors
        self._trackers: dict[tuple[frozenset[str], float, float], HomeTracker] = {}

    def view(self, outer_doors: Iterable[str] = (), moving_speed: float = 0.15,
             accel_std_g: float = 0.03) -> HomeView:
        key = (frozenset(outer_doors), moving_speed, accel_std_g)
        tracker = self._trackers.get(key)
        if tracker is None:
            tracker = self._trackers[key] = HomeTracker(self.sensors, key[0], moving_speed, accel_std_g)
        return HomeView(tracker)

    def track(self, readings: Iterable[Any]) -> None:
        """Once per batch, before the detectors' feed (the pipeline does this)."""
        for tracker in self._trackers.values():
            tracker.track(readings)

    def release(self) -> None:
        """After the detectors' feed: the batch is not kept."""
        for tracker in self._trackers.values():
            tracker.release()

    def __len__(self) -> int:
        return len(self._trackers)
