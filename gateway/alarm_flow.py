"""From detections to events: the cancel window and the alarm decision.

A suspected fall is not yet an alarm. It is published as `fall_suspected` and opens a
cancel window (default 30 s). A cancel (a button, or a detector seeing the person get
up) inside the window publishes `alarm_cancelled`; otherwise the `fall` alarm goes out
when the window closes. SOS presses skip the window. A `fall_confirmed` (the home's
sensors saw the person low on the floor: detectors/home_witness.py) sends the `fall`
alarm at once instead of at the window's end. Suspected falls that arrive while a
window is open (the radar and the wearable seeing the same fall) join it instead of
opening another, so one incident makes one alarm, with the strongest confidence.

Time here is sensor time: the window closes when a reading (or the daemon's tick)
shows that its deadline has passed. Replay therefore decides exactly as live did.

The open window is state that must survive a crash: a resident who falls while the
gateway restarts is the case this product exists for. `state()` and `restore()` give it
as plain JSON; `changed` tells the daemon to save it (in the same commit as the event
that opened, joined or closed it). A restored window ends in its alarm or its cancel like
any other, even when the home no longer has the sensor that saw the fall.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from detectors.base import Detection
from gateway.catalogue import CATALOGUE

CANCEL_TYPES = frozenset({"cancel", "fall_cancelled"})
CONFIRM = "fall_confirmed"  # not an event of its own: it closes the window with its `fall`


# The detectors' cancels, by the evidence key that names their rule: the wearable's get-up,
# steps resumed and arm at work again (detectors/wearable_fall.py), a radar seeing the
# person up again (detectors/radar_fall.py).
DETECTOR_CANCELS = {"upright_s": "get_up", "walking_s": "steps", "active_peaks": "arm_at_work",
                    "height_m": "radar_up"}


@dataclass
class OpenWindow:
    suspected_id: str
    deadline: float
    detection: Detection
    evidence: dict[str, float] = field(default_factory=dict)
    by_sensor: dict[str, float] = field(default_factory=dict)  # best confidence per witness

    @property
    def confidence(self) -> float:
        """Independent witnesses: 1 - prod(1 - c) over sensors (0.7 and 0.8 give 0.94)."""
        miss = 1.0
        for c in self.by_sensor.values():
            miss *= 1.0 - c
        return 1.0 - miss

    def to_json(self) -> dict[str, Any]:
        d = self.detection
        return {"suspected_id": self.suspected_id, "deadline": self.deadline,
                "detection": {"type": d.type, "occurred_at": d.occurred_at, "sensor": d.sensor,
                              "room": d.room, "confidence": d.confidence,
                              "evidence": dict(d.evidence), "ref": d.ref},
                "evidence": dict(self.evidence), "by_sensor": dict(self.by_sensor)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "OpenWindow":
        d = data["detection"]
        det = Detection(str(d["type"]), float(d["occurred_at"]), d.get("sensor"), d.get("room"),
                        float(d["confidence"]), {str(k): float(v) for k, v in d["evidence"].items()},
                        d.get("ref"))
        return cls(str(data["suspected_id"]), float(data["deadline"]), det,
                   {str(k): float(v) for k, v in data["evidence"].items()},
                   {str(k): float(v) for k, v in data["by_sensor"].items()})


class AlarmFlow:
    """Turns detections into (type, detection, ref) tuples for the event factory."""

    def __init__(self, cancel_window: float,
                 make: Callable[[str, Detection, str | None], str]) -> None:
        """`make(type, detection, ref) -> event id` creates one event and returns its id."""
        self.cancel_window = cancel_window
        self.make = make
        self.window: OpenWindow | None = None
        self.changed = False  # the window opened, grew or closed since the last save

    def state(self) -> dict[str, Any]:
        return {"window": None if self.window is None else self.window.to_json()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Reopen the window saved by a gateway that stopped (or crashed) inside it."""
        data = state.get("window")
        self.window = None if data is None else OpenWindow.from_json(data)

    def handle(self, det: Detection) -> None:
        if det.type == "fall_suspected":
            self._suspected(det)
        elif det.type in CANCEL_TYPES:
            self._cancel(det)
        elif det.type == CONFIRM:
            self._confirm(det)
        elif det.type in CATALOGUE:
            self.make(det.type, det, det.ref)
        # Unknown detection types are a programming error in a detector; they are
        # dropped here rather than crash the daemon (tests assert catalogue coverage).

    def advance(self, now: float) -> None:
        """Close the window if sensor time `now` has passed its deadline."""
        w = self.window
        if w is not None and now >= w.deadline:
            self._alarm(w, {})

    def _alarm(self, w: OpenWindow, extra: Mapping[str, float]) -> None:
        self.window = None
        self.changed = True
        d = w.detection
        alarm = Detection("fall", d.occurred_at, d.sensor, d.room, w.confidence,
                          {**w.evidence, "cancel_window_s": w.deadline - d.occurred_at,
                           "sensors": float(len(w.by_sensor)), **extra})
        self.make("fall", alarm, w.suspected_id)

    def _confirm(self, det: Detection) -> None:
        """The home confirmed the open window's fall: the alarm goes out now."""
        w = self.window
        if w is None or det.occurred_at > w.deadline:
            return
        self._alarm(w, det.evidence)

    def _suspected(self, det: Detection) -> None:
        self.advance(det.occurred_at)
        w = self.window
        if w is not None:  # same incident seen again (another sensor, or a re-trigger)
            if w.detection.room is None and det.room is not None:
                # A worn sensor has no room; a radar that saw the same fall does.
                w.detection = replace(w.detection, room=det.room)
            key = det.sensor or ""
            w.by_sensor[key] = max(w.by_sensor.get(key, 0.0), det.confidence)
            w.evidence.update({k: v for k, v in det.evidence.items() if k not in w.evidence})
            self.changed = True
            return
        sid = self.make("fall_suspected", det, None)
        self.changed = True
        self.window = OpenWindow(sid, det.occurred_at + self.cancel_window, det,
                                 dict(det.evidence), {det.sensor or "": det.confidence})
        if self.cancel_window <= 0:
            self.advance(det.occurred_at)

    def _cancel(self, det: Detection) -> None:
        w = self.window
        if w is None or det.occurred_at > w.deadline:
            return  # nothing to cancel: a cancel never retracts an alarm already sent
        self.window = None
        self.changed = True
        d = w.detection
        # A cancel says why: the home's sensors (by_home, witness_RULE: the table in
        # detectors/home_witness.py), or the detector's own evidence (cancelled_by_RULE, so
        # the centre can tell a wearer standing up from an arm hitting hard again and call
        # back on the one it trusts less); a button's as before.
        if det.evidence.get("by_home"):
            why = {k: v for k, v in det.evidence.items() if k == "by_home"
                   or k.startswith("witness_") or k == "seconds_after_impact"}
        else:
            why = {f"cancelled_by_{rule}": 1.0 for key, rule in DETECTOR_CANCELS.items()
                   if key in det.evidence}
            after = det.evidence.get("since_impact_s", det.evidence.get("seconds_after_fall"))
            if why and after is not None:
                why["seconds_after_impact"] = after
        self.make("alarm_cancelled",
                  Detection("alarm_cancelled", det.occurred_at, det.sensor or d.sensor,
                            d.room, 1.0, {"seconds_after_suspected": det.occurred_at - d.occurred_at,
                                          "by_button": float(det.type == "cancel"), **why}),
                  w.suspected_id)
