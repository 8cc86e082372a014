"""Wearable and vital-sign health: heart rate outside bounds for a sustained time, a
wearable that is not being worn, a wearable that has gone out of range.

Why warnings and not alarms: a wristband's optical heart rate jumps on a loose strap and
a chest strap drops out; calling an ambulance for that would teach carers to ignore the
system. A bound crossed for `sustain_seconds` without a gap longer than `max_gap_seconds`
is a `heart_rate_abnormal` warning (catalogue class "event") for the care provider, raised
once per episode and re-armed after `rearm_seconds` back inside the bounds. Readings that
report no skin contact, or 0 bpm, are not heart rates and are ignored.

Not worn (`wearable_not_worn`): the strap reports no skin contact for `not_worn_minutes`,
or the accelerometer has been still as a table (std of |a| under `still_std_g` in every
block) for `still_minutes`; a worn wrist or waist is never that still for hours, even in
sleep. Raised once until the wearable is worn again (contact or movement).

Out of range (`wearable_out_of_range`): a wearable that has sent heart rate or
acceleration before has sent neither for `out_of_range_minutes` while other readings (or
the gateway's tick) show time moving on (a battery or link report alone does not count:
the wearable is there for its data): the resident may be outside, or the band lies in
another room. The gateway's per-sensor silence supervision (`sensor_silent`) is the
technical counterpart; this one speaks the carer's language and uses sensor time.
Low battery is translated by detectors/passthrough.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import Field, model_validator

from detectors.base import Detection, Detector, DetectorSettings, room_of
from detectors.magnitude import magnitude_std
from sensordata.readings import AccelBlock, HeartRate


class WearableHealthSettings(DetectorSettings):
    hr_low: float = Field(40.0, ge=20, le=120, title="Lowest normal heart rate (bpm)")
    hr_high: float = Field(130.0, ge=60, le=250, title="Highest normal heart rate (bpm)")
    sustain_seconds: float = Field(300.0, ge=10, title="Seconds outside the bounds before the warning")
    max_gap_seconds: float = Field(60.0, gt=0, title="A longer gap between heart rates restarts the count")
    rearm_seconds: float = Field(300.0, ge=0, title="Seconds back inside the bounds before another warning")
    not_worn_minutes: float = Field(30.0, gt=0, title="Minutes without skin contact before not-worn")
    still_minutes: float = Field(180.0, gt=0, title="Minutes of table-still acceleration before not-worn")
    still_std_g: float = Field(0.004, gt=0, title="Std of |a| (g) in a block under which the wearable is lying still")
    out_of_range_minutes: float = Field(10.0, gt=0, title="Minutes without any reading from a wearable before out-of-range")

    @model_validator(mode="after")
    def _bounds(self) -> "WearableHealthSettings":
        if self.hr_low >= self.hr_high:
            raise ValueError("hr_low must be below hr_high")
        return self


@dataclass(slots=True)
class _Wearable:
    last_seen: float = float("-inf")
    lost: bool = False              # out-of-range raised, waiting for the next reading
    hr_start: float | None = None   # first reading of the current out-of-bounds run
    hr_last: float = float("-inf")  # last valid heart-rate time
    hr_sum: float = 0.0
    hr_n: int = 0
    hr_min: float = float("inf")
    hr_max: float = float("-inf")
    hr_alarmed: bool = False
    in_since: float | None = None   # first in-bounds reading after a warning
    nocontact_since: float | None = None
    still_since: float | None = None
    still_std: float = 0.0
    not_worn: bool = False


class WearableHealthDetector(Detector[WearableHealthSettings]):
    name = "wearable_health"
    Settings = WearableHealthSettings

    def setup(self) -> None:
        settings = self.settings
        self.s = settings
        self.w: dict[str, _Wearable] = {}
        self._now = float("-inf")
        #: no wearable that is not yet lost was last seen before this (a lower bound, kept
        #: by _get and _advance): until `limit` after it nothing can fall due, and replay
        #: advances this detector 1.8 million times a day
        self._oldest = float("inf")

    def _room(self, sensor: str) -> str | None:
        return room_of(self.sensors, sensor)

    def feed(self, readings: Iterable[Any]) -> list[Detection]:
        out: list[Detection] = []
        advance = self._advance
        limit = self.s.out_of_range_minutes * 60.0   # as _advance computes it
        for r in readings:
            if isinstance(r, AccelBlock):
                if not len(r.t):
                    continue
                t = float(r.t[-1])
                advance(t, out)
                self._accel(self._get(r.sensor, t), r, out)
            else:
                t = r.t
                # _advance's first steps, inline: most readings are radar frames, and nothing
                # is due until a wearable has been silent `out_of_range_minutes` (NaN: long way)
                if not t <= self._now:
                    if t - self._oldest < limit:
                        self._now = t
                    else:
                        advance(t, out)
                if isinstance(r, HeartRate):
                    self._heart(self._get(r.sensor, t), r, out)
        return out

    def tick(self, now: float) -> list[Detection]:
        """Advance sensor time to `now` without a reading: out-of-range needs it most."""
        out: list[Detection] = []
        self._advance(now, out)
        return out

    def _get(self, sensor: str, t: float) -> _Wearable:
        w = self.w.get(sensor)
        if w is None:
            w = self.w[sensor] = _Wearable()
        w.last_seen = max(w.last_seen, t)
        w.lost = False
        if w.last_seen < self._oldest:
            self._oldest = w.last_seen
        return w

    def _advance(self, t: float, out: list[Detection]) -> None:
        if t <= self._now:
            return
        self._now = t
        limit = self.s.out_of_range_minutes * 60.0
        if t - self._oldest < limit:
            return   # every wearable not lost was seen since _oldest: none is due yet
        oldest = float("inf")
        for sensor, w in self.w.items():
            if not w.lost and t - w.last_seen >= limit:
                w.lost = True
                out.append(Detection("wearable_out_of_range", w.last_seen + limit, sensor,
                                     self._room(sensor), evidence={"minutes": limit / 60.0}))
            elif not w.lost and w.last_seen < oldest:
                oldest = w.last_seen
        self._oldest = oldest

    def _heart(self, w: _Wearable, r: Any, out: list[Detection]) -> None:
        t = r.t
        if r.contact is False:
            if w.nocontact_since is None:
                w.nocontact_since = t
            elif not w.not_worn and t - w.nocontact_since >= self.s.not_worn_minutes * 60.0:
                w.not_worn = True
                out.append(Detection("wearable_not_worn", w.nocontact_since
                                     + self.s.not_worn_minutes * 60.0, r.sensor,
                                     self._room(r.sensor), evidence={
                                         "minutes": self.s.not_worn_minutes, "no_contact": 1.0}))
            return
        w.nocontact_since = None
        if r.contact is True:
            w.not_worn = False
        bpm = float(r.bpm)
        if bpm <= 0:
            return
        s = self.s
        if t - w.hr_last > s.max_gap_seconds:
            w.hr_start = None          # a gap: the episode can not be called sustained
        w.hr_last = t
        if s.hr_low <= bpm <= s.hr_high:
            w.hr_start = None
            if w.hr_alarmed:
                w.in_since = t if w.in_since is None else w.in_since
                if t - w.in_since >= s.rearm_seconds:
                    w.hr_alarmed, w.in_since = False, None
            return
        w.in_since = None
        if w.hr_start is None:
            w.hr_start, w.hr_sum, w.hr_n, w.hr_min, w.hr_max = t, 0.0, 0, bpm, bpm
        w.hr_sum += bpm
        w.hr_n += 1
        w.hr_min, w.hr_max = min(w.hr_min, bpm), max(w.hr_max, bpm)
        if not w.hr_alarmed and t - w.hr_start >= s.sustain_seconds:
            w.hr_alarmed = True
            out.append(Detection("heart_rate_abnormal", t, r.sensor, self._room(r.sensor),
                                 evidence={"bpm": round(w.hr_sum / w.hr_n, 1),
                                           "bpm_min": w.hr_min, "bpm_max": w.hr_max,
                                           "seconds": round(t - w.hr_start, 1),
                                           "low": s.hr_low, "high": s.hr_high}))

    def _accel(self, w: _Wearable, r: Any, out: list[Detection]) -> None:
        xyz = r.xyz
        if len(xyz) < 2:
            return
        std = magnitude_std(xyz)
        t0, t1 = float(r.t[0]), float(r.t[-1])
        if std >= self.s.still_std_g:
            w.still_since = None
            w.not_worn = False
            return
        if w.still_since is None:
            w.still_since, w.still_std = t0, std
        w.still_std = max(w.still_std, std)
        limit = self.s.still_minutes * 60.0
        if not w.not_worn and t1 - w.still_since >= limit:
            w.not_worn = True
            out.append(Detection("wearable_not_worn", w.still_since + limit, r.sensor,
                                 self._room(r.sensor), evidence={
                                     "minutes": self.s.still_minutes, "no_contact": 0.0,
                                     "accel_std_g": round(w.still_std, 5)}))
