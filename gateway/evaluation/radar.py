"""`safehome evaluate --format radar DIR`: the radar fall detector on raw TI captures.

(A DIR of SafeSenior `.csv` clips instead goes to gateway/evaluation/safesenior.py.)

DIR holds `.bin` captures (bytes as the radar's data port sent them) and `config/` with
the chirp configs (`people_tracking.cfg`, `out_of_box.cfg`), laid out like
`../shared/data/radar-real-dev/mmfall`. Each capture is parsed as the driver does
(FrameParser + FrameConverter; frame time = frame number x frame period) and run through
the gateway's Pipeline with a default home holding one radar. Fall times come from
`mmfall_labels.toml` next to this module (how they were made is written there).

Mounting (`--mounting`):
- `configured`: points in the room frame with what the chirp config claims; the detector
  keeps it (`radar_fall.mounting = "configured"`).
- `measured` (the default): with the mounting `safehome doctor` measures from the same
  setup's walking capture, as if the installer had applied its fix
  (sensordata/radar_mounting.py); the detector keeps it.
- `self`: the configured mounting, and the detector measures its own from what it sees
  in that capture alone (`radar_fall.mounting = "measured"`, the detector's default).
- `self-after-walk`: as `self`, but the detector first ran the setup's walking capture and
  its state (the estimate) was restored, as a gateway that saw the person walk the
  day before would be.
A labelled fall is detected when a `fall` alarm occurs from 3 s before to 15 s after it;
every other alarm is a false alarm.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS = Path(__file__).with_name("mmfall_labels.toml")
T0 = 1_767_225_600.0
BEFORE_S, AFTER_S = 3.0, 15.0


@dataclass
class CaptureScore:
    capture: str
    mounting: str
    falls: list[float]
    alarms: list[float] = field(default_factory=list)     # seconds from the first frame
    suspected: int = 0
    cancelled: int = 0
    suspected_at: list[float] = field(default_factory=list)

    @property
    def recognised(self) -> int:
        """Labelled falls with a fall_suspected (the detector saw the fall; an actor who got
        up at once then cancelled it, which is what the product should do)."""
        return sum(any(f - BEFORE_S <= a <= f + AFTER_S for a in self.suspected_at)
                   for f in self.falls)

    @property
    def detected(self) -> int:
        return sum(any(f - BEFORE_S <= a <= f + AFTER_S for a in self.alarms) for f in self.falls)

    @property
    def false_alarms(self) -> int:
        return sum(not any(f - BEFORE_S <= a <= f + AFTER_S for f in self.falls)
                   for a in self.alarms)


def _frames(path: Path) -> list[Any]:
    from drivers.ti_mmwave.parser import FrameParser
    return list(FrameParser().feed(path.read_bytes()))


def measured_mounting(path: Path) -> Any:
    """The mounting a walk in this capture shows (None when it shows none)."""
    from drivers.ti_mmwave.chirp import Mounting
    from drivers.ti_mmwave.mounting_check import MountingEstimator
    est = MountingEstimator()
    for f in _frames(path):
        if f.points is not None and len(f.points):
            est.feed(f.points.xyz, f.points.velocity)
    got = est.estimate()
    return None if got is None else Mounting(got.height_m, got.elevation_tilt_deg)


MODES = ("measured", "configured", "self", "self-after-walk")


def home_for(path: Path, cfg: Any, mount: Any, detectors: dict[str, Any] | None = None) -> Any:
    """A default home with one TI radar replaying `path`, its driver settings stating the
    mounting the points are put in the room frame with (so the detector knows it)."""
    from gateway.config import HomeConfig
    settings = {"port": f"file:{path}", "config": str(cfg.path),
                "sensor_height_m": mount.height_m, "elevation_tilt_deg": mount.elevation_tilt_deg}
    return HomeConfig.for_replay([{"id": "radar", "type": "ti_mmwave", "room": "room",
                                   "settings": settings}],
                                 **({"detectors": detectors} if detectors else {}))


def run_capture(path: Path, cfg: Any, mount: Any, detectors: dict[str, Any] | None = None,
                states: dict[str, Any] | None = None) -> tuple[list[Any], float, Any]:
    """Every event the pipeline raises for one capture, the first frame's time, and the
    pipeline (its detectors' state and mounting estimates)."""
    from drivers.ti_mmwave.convert import FrameConverter
    from gateway.pipeline import Pipeline
    home = home_for(path, cfg, mount, detectors)
    ids = iter(range(1, 1 << 30))
    now = [T0]
    pipe = Pipeline(home, clock=lambda: now[0], id_factory=lambda: f"{path.stem}:{next(ids)}")
    if states:
        pipe.restore_states(states)
    conv = FrameConverter("radar", mount, tracking=cfg.tracking,
                          doppler_resolution_mps=cfg.doppler_resolution_mps)
    period = cfg.frame_period_s or 0.055
    events: list[Any] = []
    first: int | None = None
    for f in _frames(path):
        n = f.header.frame_number
        first = n if first is None else first
        now[0] = max(now[0], T0 + (n - first) * period)
        events += pipe.feed(conv.readings(f, now[0]))
    events += pipe.finish()
    return events, T0, pipe


def evaluate(root: Path, mounting: str = "measured",
             detectors: dict[str, Any] | None = None) -> list[CaptureScore]:
    from drivers.ti_mmwave import chirp
    labels = tomllib.loads(LABELS.read_text())
    walks: dict[str, Any] = {}
    walk_states: dict[str, Any] = {}
    own = "measured" if mounting.startswith("self") else "configured"
    table = {"mounting": own, **(detectors or {}).get("radar_fall", {})}
    detectors = {**(detectors or {}), "radar_fall": table}
    out = []
    for path in sorted(Path(root).glob("*.bin")):
        entry = labels["captures"].get(path.stem)
        if entry is None:
            continue                      # not labelled (see the labels file)
        setup = "out" if path.stem.startswith("out") else "people"
        cfg = chirp.load(root / "config" / ("out_of_box.cfg" if setup == "out"
                                            else "people_tracking.cfg"))
        if mounting == "measured":
            if setup not in walks:
                walks[setup] = measured_mounting(root / f"{labels['setup_walk'][setup]}.bin")
            mount = walks[setup] or cfg.mounting
        else:
            mount = cfg.mounting
        if mount is None:
            continue                      # the config states no mounting: nothing to run
        states = None
        if mounting == "self-after-walk":
            if setup not in walk_states:
                walk = root / f"{labels['setup_walk'][setup]}.bin"
                walk_states[setup] = run_capture(walk, cfg, mount, detectors)[2].detector_states()
            states = walk_states[setup]
        events, t0, pipe = run_capture(path, cfg, mount, detectors, states)
        used = f"{mount.height_m:.2f} m, {mount.elevation_tilt_deg:.0f} deg"
        det = pipe.detectors.get("radar_fall")
        own_est = det.mounting_estimate("radar") if det is not None else None
        if own == "measured":
            used = ("configured " + used + "; " + (
                f"self-measured {own_est['height_m']:.2f} m, {own_est['tilt_deg']:.0f} deg"
                if own_est else "not self-measured"))
        sc = CaptureScore(path.stem, used, [float(x) for x in entry["falls"]])
        sc.alarms = [e.occurred_at - t0 for e in events if e.type == "fall"]
        sc.suspected = sum(e.type == "fall_suspected" for e in events)
        sc.suspected_at = [e.occurred_at - t0 for e in events if e.type == "fall_suspected"]
        sc.cancelled = sum(e.type == "alarm_cancelled" for e in events)
        out.append(sc)
    return out


def radar_fall_overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    """`--set radar_fall.KEY=VALUE` as a detectors table ({} without any), checked; None
    (after saying why on stderr) when one is bad."""
    from gateway.evaluation.options import overrides as _overrides
    try:
        tables = _overrides(getattr(args, "set", []) or [])
        from detectors.radar_fall import RadarFallSettings
        RadarFallSettings.model_validate(tables.get("radar_fall", {}))
    except ValueError as exc:
        print(f"safehome evaluate: bad --set: {exc}", file=sys.stderr)
        return None
    return {"radar_fall": tables["radar_fall"]} if "radar_fall" in tables else {}
