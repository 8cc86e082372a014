"""The radar fall detector on the public mmfall captures: with the mounting their configs
claim, with the mounting measured from the commissioning walk (as `safehome doctor` would,
fix applied), and with the configured mounting while the detector measures its own.

    nice -n 15 python benchmarks/radar_captures.py

Each capture is parsed as the driver would (FrameParser + FrameConverter, frame time =
frame number x frame period) and run through the gateway's Pipeline with a default home
holding one ti_mmwave radar (gateway/evaluation/radar.py). Printed per capture:
fall_suspected / fall alarms for
- configured: the config's mounting, `radar_fall.mounting = "configured"`;
- doctor: the mounting measured from the setup's walk capture, detector keeps it;
- self: the config's mounting, the detector measures its own from that capture alone;
- self after walk: as self, restored from the detector's state after the walk capture.
The fall sessions have no labels here (see `safehome evaluate --format radar`), so falls
are counted, not matched; in the other captures every alarm is a false alarm.
"""

from __future__ import annotations

import sys

import _util  # noqa: F401

from drivers.ti_mmwave import chirp
from gateway.evaluation.radar import measured_mounting, run_capture

MMFALL = _util.REPO.parent / "shared" / "data" / "radar-real-dev" / "mmfall"
FALLS = ("people_tracking_fall_0", "people_tracking_fall_1", "out_of_box_fall")
# the walk that measures each setup's mounting (the commissioning walk test)
WALK = {"people": "people_tracking_walking", "out": "out_of_box_normal"}


def counts(events: list) -> str:
    return f"{sum(e.type == 'fall_suspected' for e in events)} / {sum(e.type == 'fall' for e in events)}"


def main() -> int:
    print("| capture | falls performed | configured | doctor mounting | doctor | self-measured "
          "mounting | self | self after walk |")
    print("|---|---|---|---|---|---|---|---|")
    walk_state: dict[str, dict] = {}
    fixed = {"radar_fall": {"mounting": "configured"}}
    own = {"radar_fall": {"mounting": "measured"}}
    for path in sorted(MMFALL.glob("*.bin")):
        name = path.stem
        setup = "out" if name.startswith("out") else "people"
        cfg = chirp.load(MMFALL / "config" / ("out_of_box.cfg" if setup == "out"
                                              else "people_tracking.cfg"))
        conf = cfg.mounting or chirp.Mounting(2.0, 10.0)
        meas = measured_mounting(MMFALL / f"{WALK[setup]}.bin")
        assert meas is not None, name
        if setup not in walk_state:
            walk_state[setup] = run_capture(MMFALL / f"{WALK[setup]}.bin", cfg, conf,
                                            own)[2].detector_states()
        a = run_capture(path, cfg, conf, fixed)[0]
        b = run_capture(path, cfg, meas, fixed)[0]
        c, _, pipe = run_capture(path, cfg, conf, own)
        d = run_capture(path, cfg, conf, own, walk_state[setup])[0]
        est = pipe.detectors["radar_fall"].mounting_estimate("radar")
        mine = f"{est['height_m']:.2f} m, {est['tilt_deg']:.0f} deg" if est else "none (no walk)"
        print(f"| {name} | {'several (unlabelled)' if name in FALLS else 'none'} | {counts(a)} | "
              f"{meas.height_m:.2f} m, {meas.elevation_tilt_deg:.0f} deg | {counts(b)} | {mine} | "
              f"{counts(c)} | {counts(d)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
