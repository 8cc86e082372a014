"""Chirp configs (`firmware_configs/*.cfg`): load, validate, and learn the mounting.

A chirp config is the list of CLI lines the driver sends to the radar at start. A typo
in one of them is found by the firmware only at start, on a Pi in somebody's home,
as a cryptic "'cfarcfg' is not recognized"; so configs are checked when the home config
is loaded: every command must be one the TI firmware knows (with a did-you-mean for a
misspelling), arguments must be numbers, the common commands must have their exact
number of arguments, and the file must end with `sensorStart`.

The mounting (height above the floor and tilt) is needed to put out-of-box point clouds
into the room frame. People-tracking configs state it in `sensorPosition <height m>
<azimuth tilt deg> <elevation tilt deg>`; every Safehome config also states it in its
comment header as `% height_m: 2.6`, `% elevation_tilt_deg: 90`, `% azimuth_tilt_deg: 0`
(and `% mounting: ceiling|wall`). When both are given they must agree, so a config edited
in one place and not the other is caught at load.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from drivers.shipped import FIRMWARE_CONFIGS
from sensordata.radar_mounting import Mounting

CONFIG_DIR = FIRMWARE_CONFIGS

#: Commands of the mmWave SDK 3.x out-of-box demo CLI and of the Radar Toolbox 3D people
#: tracking / fall detection demo CLI.
KNOWN_COMMANDS = frozenset({
    # SDK demo
    "sensorStop", "sensorStart", "flushCfg", "dfeDataOutputMode", "channelCfg", "adcCfg",
    "adcbufCfg", "lowPower", "profileCfg", "chirpCfg", "frameCfg", "advFrameCfg",
    "subFrameCfg", "guiMonitor", "cfarCfg", "cfarFovCfg", "aoaFovCfg", "multiObjBeamForming",
    "calibDcRangeSig", "clutterRemoval", "compRangeBiasAndRxChanPhase",
    "measureRangeBiasAndRxChanPhase", "extendedMaxVelocity", "CQRxSatMonitor",
    "CQSigImgMonitor", "analogMonitor", "lvdsStreamCfg", "bpmCfg", "calibData",
    "configDataPort", "queryDemoStatus", "peakGrouping",
    # people tracking / fall detection
    "boundaryBox", "staticBoundaryBox", "presenceBoundaryBox", "sensorPosition",
    "gatingParam", "stateParam", "allocationParam", "maxAcceleration", "trackingCfg",
    "dynamicRangeAngleCfg", "dynamicRACfarCfg", "dynamic2DAngleCfg", "staticRangeAngleCfg",
    "staticRACfarCfg", "fineMotionCfg", "antGeometry0", "antGeometry1", "antPhaseRot",
    "fovCfg",
})

#: exact argument counts where the SDK/toolbox documentation is unambiguous
ARITY = {
    "dfeDataOutputMode": 1, "channelCfg": 3, "adcCfg": 2, "adcbufCfg": 5, "lowPower": 2,
    "profileCfg": 14, "chirpCfg": 8, "frameCfg": 7, "sensorPosition": 3, "boundaryBox": 6,
    "staticBoundaryBox": 6, "presenceBoundaryBox": 6, "maxAcceleration": 3,
    "sensorStop": 0, "flushCfg": 0,
}

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_HEADER_KEY = re.compile(r"^%\s*([A-Za-z_]+)\s*:\s*(.+?)\s*$")
_C = 299_792_458.0


class ChirpConfigError(ValueError):
    """A chirp config that must not be sent; the message names the file and line."""


@dataclass(frozen=True)
class ChirpConfig:
    path: Path
    lines: tuple[tuple[int, str], ...]  # (line number, command line) in sending order
    header: dict[str, str] = field(default_factory=dict)
    mounting: Mounting | None = None

    @property
    def commands(self) -> list[str]:
        return [ln for _, ln in self.lines]

    def args(self, command: str) -> list[float] | None:
        """Arguments of the last line with this command, as numbers."""
        for _, ln in reversed(self.lines):
            parts = ln.split()
            if parts[0] == command:
                return [float(a) for a in parts[1:]]
        return None

    @property
    def tracking(self) -> bool:
        """True for a people-tracking config (frames carry 1010 target lists)."""
        return self.args("trackingCfg") is not None

    @property
    def frame_period_s(self) -> float | None:
        a = self.args("frameCfg")
        return a[4] / 1000.0 if a and len(a) >= 5 and a[4] > 0 else None

    @property
    def doppler_resolution_mps(self) -> float | None:
        """Velocity per Doppler bin, for SDK 2.x points that carry only the bin index."""
        p, f = self.args("profileCfg"), self.args("frameCfg")
        if not p or not f or len(p) < 5 or len(f) < 3:
            return None
        start_ghz, idle_us, ramp_us = p[1], p[2], p[4]
        n_tx = int(f[1] - f[0] + 1)
        loops = int(f[2])
        if start_ghz <= 0 or n_tx <= 0 or loops <= 0 or idle_us + ramp_us <= 0:
            return None
        n_doppler = 1 << max(0, math.ceil(math.log2(loops)))
        lam = _C / (start_ghz * 1e9)
        return lam / (2.0 * n_doppler * n_tx * (idle_us + ramp_us) * 1e-6)


def resolve(name: str | Path) -> Path:
    """A config name ("iwr6843aop_ceiling") or a path to the file."""
    p = Path(name)
    if p.suffix == ".cfg" and (p.is_absolute() or p.exists()):
        return p
    cand = CONFIG_DIR / (p.name if p.suffix == ".cfg" else f"{p.name}.cfg")
    if cand.exists():
        return cand
    known = sorted(c.stem for c in CONFIG_DIR.glob("iwr*.cfg"))
    hint = difflib.get_close_matches(p.stem, known, n=1)
    raise ChirpConfigError(
        f"chirp config {str(name)!r} not found in {CONFIG_DIR}"
        + (f" (did you mean {hint[0]!r}?)" if hint else f"; available: {', '.join(known)}"))


def load(name: str | Path, extra_commands: frozenset[str] | set[str] = frozenset()) -> ChirpConfig:
    path = resolve(name)
    return parse(path.read_text(encoding="utf-8", errors="replace"), path, extra_commands)


def parse(text: str, path: Path | str = "<config>",
          extra_commands: frozenset[str] | set[str] = frozenset()) -> ChirpConfig:
    """Validate a chirp config's text; raise ChirpConfigError naming the first bad line."""
    path = Path(path)
    known = KNOWN_COMMANDS | set(extra_commands)
    lines: list[tuple[int, str]] = []
    header: dict[str, str] = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith("%"):
            m = _HEADER_KEY.match(s)
            if m and not lines:
                header[m.group(1).lower()] = m.group(2)
            continue
        parts = s.split()
        cmd, args = parts[0], parts[1:]
        where = f"{path.name}:{no}"
        if cmd not in known:
            close = difflib.get_close_matches(cmd, sorted(known), n=1, cutoff=0.6)
            lower = {k.lower(): k for k in known}
            sugg = lower.get(cmd.lower()) or (close[0] if close else None)
            raise ChirpConfigError(
                f"{where}: unknown command {cmd!r}"
                + (f" (did you mean {sugg!r}?)" if sugg else "") + f" in line {s!r}")
        bad = [a for a in args if not _NUMBER.match(a)]
        if bad:
            raise ChirpConfigError(f"{where}: {cmd} argument {bad[0]!r} is not a number")
        if cmd in ARITY and len(args) != ARITY[cmd]:
            raise ChirpConfigError(
                f"{where}: {cmd} takes {ARITY[cmd]} arguments, got {len(args)}")
        lines.append((no, " ".join(parts)))
    if not lines:
        raise ChirpConfigError(f"{path.name}: no commands")
    if lines[-1][1].split()[0] != "sensorStart":
        raise ChirpConfigError(
            f"{path.name}:{lines[-1][0]}: the last command must be sensorStart "
            f"(found {lines[-1][1].split()[0]!r}), or the radar never streams")
    cfg = ChirpConfig(path, tuple(lines), header)
    return ChirpConfig(path, tuple(lines), header, _mounting(cfg))


def _mounting(cfg: ChirpConfig) -> Mounting | None:
    h = cfg.header
    kind = h.get("mounting")
    from_header = None
    if "height_m" in h:
        try:
            from_header = Mounting(float(h["height_m"]), float(h.get("elevation_tilt_deg", 0)),
                                   float(h.get("azimuth_tilt_deg", 0)), kind)
        except ValueError as exc:
            raise ChirpConfigError(f"{cfg.path.name}: bad mounting header: {exc}") from exc
    sp = cfg.args("sensorPosition")
    from_cmd = Mounting(sp[0], sp[2], sp[1], kind) if sp else None
    if from_header and from_cmd:
        a, b = from_header, from_cmd
        if (abs(a.height_m - b.height_m) > 1e-6 or abs(a.elevation_tilt_deg - b.elevation_tilt_deg)
                > 1e-6 or abs(a.azimuth_tilt_deg - b.azimuth_tilt_deg) > 1e-6):
            raise ChirpConfigError(
                f"{cfg.path.name}: header says height {a.height_m} m, elevation tilt "
                f"{a.elevation_tilt_deg} deg, azimuth tilt {a.azimuth_tilt_deg} deg but "
                f"sensorPosition says {b.height_m} {b.azimuth_tilt_deg} {b.elevation_tilt_deg}")
    return from_cmd or from_header
