"""The radar fall detector on the public mmfall captures, with the mounting their configs
claim and with the mounting measured from the commissioning walk.

    nice -n 15 python benchmarks/radar_captures.py

Each capture is parsed as the driver would (FrameParser + FrameConverter, frame time =
frame number x frame period) and run through the gateway's Pipeline with a default home
holding one ti_mmwave radar. Printed per capture: fall_suspected and fall alarms with the
configured mounting and with the measured one. The fall sessions have no labels (the
authors fell several times on purpose), so falls are counted, not matched; in the other
captures every alarm is a false alarm.
"""

from __future__ import annotations

import sys

import _util  # noqa: F401

from drivers.ti_mmwave import chirp
from drivers.ti_mmwave.convert import FrameConverter
from drivers.ti_mmwave.mounting_check import MountingEstimator
from drivers.ti_mmwave.parser import FrameParser
from gateway.config import HomeConfig
from gateway.pipeline import Pipeline

MMFALL = _util.REPO.parent / "shared" / "data" / "radar-real-dev" / "mmfall"
T0 = 1_767_225_600.0
FALLS = ("people_tracking_fall_0", "people_tracking_fall_1", "out_of_box_fall")
# the walk that measures each setup's mounting (the commissioning walk test)
WALK = {"people": "people_tracking_walking", "out": "out_of_box_normal"}


def frames(name: str) -> list:
    return list(FrameParser().feed((MMFALL / f"{name}.bin").read_bytes()))


def measured(name: str) -> chirp.Mounting:
    est = MountingEstimator()
    for f in frames(name):
        if f.points is not None and len(f.points):
            est.feed(f.points.xyz, f.points.velocity)
    got = est.estimate()
    assert got is not None, name
    return chirp.Mounting(got.height_m, got.elevation_tilt_deg)


def run(name: str, cfg: chirp.ChirpConfig, mount: chirp.Mounting) -> dict[str, int]:
    home = HomeConfig.for_replay([{"id": "radar", "type": "ti_mmwave", "room": "living"}])
    ids = iter(range(1, 1 << 30))
    now = [T0]
    pipe = Pipeline(home, clock=lambda: now[0], id_factory=lambda: f"e{next(ids)}")
    conv = FrameConverter("radar", mount, tracking=cfg.tracking,
                          doppler_resolution_mps=cfg.doppler_resolution_mps)
    period = cfg.frame_period_s or 0.055
    events = []
    first = None
    for f in frames(name):
        n = f.header.frame_number
        first = n if first is None else first
        now[0] = T0 + (n - first) * period
        events += pipe.feed(conv.readings(f, now[0]))
    events += pipe.finish()
    count = {t: sum(e.type == t for e in events) for t in ("fall_suspected", "fall",
                                                            "alarm_cancelled")}
    return count


def main() -> int:
    print("| capture | falls performed | configured mounting: suspected / alarms | measured "
          "mounting | measured: suspected / alarms |")
    print("|---|---|---|---|---|")
    for path in sorted(MMFALL.glob("*.bin")):
        name = path.stem
        cfg = chirp.load(MMFALL / "config" / ("out_of_box.cfg" if name.startswith("out")
                                              else "people_tracking.cfg"))
        conf = cfg.mounting or chirp.Mounting(2.0, 10.0)
        meas = measured(WALK["out" if name.startswith("out") else "people"])
        a, b = run(name, cfg, conf), run(name, cfg, meas)
        print(f"| {name} | {'several (unlabelled)' if name in FALLS else 'none'} | "
              f"{a['fall_suspected']} / {a['fall']} | {meas.height_m:.2f} m, "
              f"{meas.elevation_tilt_deg:.0f} deg | {b['fall_suspected']} / {b['fall']} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
