"""`safehome decode --driver TYPE FILE... [--json]`: raw serial captures -> readings.

Installers record the bytes a sensor sends (`safehome capture`) when something looks
wrong in a home; this command shows what the driver's parser makes of them, offline:
one line per decoded reading on stdout (JSON with --json), and a summary on stderr
(frames decoded, frames dropped, bytes discarded) so a bad cable or a wrong baud rate
shows up as numbers. Each FILE is decoded as a separate capture.

Decoder registry: DECODERS maps a driver type to "module:factory". The factory takes no
arguments and returns a decoder object with

    feed(data: bytes) -> Iterable[dict]   # JSON-able dicts, one per reading/frame
    finish() -> Iterable[dict]            # end of file: flush what is complete
    stats: dict[str, int]                 # at least frames_decoded, frames_dropped,
                                          # bytes_discarded (more keys are printed too)

Adding a serial driver's decoder is one line here, e.g.
    "hlk_ld2410": "drivers.ld2410.decoder:LD2410Decoder",
Modules are imported only when their type is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

DECODERS: dict[str, str] = {
    "ti_mmwave": "drivers.ti_mmwave.decoder:TiMmwaveDecoder",
    "hlk_ld2410": "drivers.ld2410.decoder:LD2410Decoder",
    "seeed_mr60fda2": "drivers.seeed.decoder:FDA2Decoder",
    "seeed_mr60fda1": "drivers.seeed.decoder:FDA1Decoder",
}

SUMMARY_KEYS = ("frames_decoded", "frames_dropped", "bytes_discarded")
CHUNK = 65536


def make_decoder(driver_type: str) -> Any:
    module, _, attr = DECODERS[driver_type].partition(":")
    return getattr(importlib.import_module(module), attr)()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "decode", help="decode raw serial captures into readings",
        description="Decode raw bytes captured from a sensor (see `safehome capture`). "
                    "Readings go to stdout, one per line; the summary goes to stderr.")
    p.add_argument("--driver", required=True, choices=sorted(DECODERS),
                   help="driver type whose byte protocol the files hold")
    p.add_argument("files", nargs="+", metavar="FILE", type=Path, help="capture files")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--mounting-config", type=Path, metavar="CFG",
                   help="ti_mmwave: chirp config whose mounting (sensorPosition) to check "
                        "against the one measured from the capture")
    p.set_defaults(func=run)


def _text(rec: dict[str, Any]) -> str:
    if "frame" in rec and "points" in rec:  # radar frames: keep the line short
        tg = " ".join(f"#{t.get('tid')}@({t.get('x', 0):.2f},{t.get('y', 0):.2f},"
                      f"{t.get('z', 0):.2f})" for t in rec.get("targets", []))
        return f"frame {rec['frame']}: {len(rec['points'])} points, " \
               f"{len(rec.get('targets', []))} targets {tg}".rstrip()
    return " ".join(f"{k}={v}" for k, v in rec.items())


def run(args: argparse.Namespace) -> int:
    totals: dict[str, int] = {}
    out = sys.stdout
    configured = None
    if getattr(args, "mounting_config", None) is not None:
        from drivers.ti_mmwave.chirp import ChirpConfigError, load
        try:
            configured = load(args.mounting_config).mounting
        except (OSError, ChirpConfigError) as exc:
            print(f"safehome decode: --mounting-config {args.mounting_config}: {exc}",
                  file=sys.stderr)
            return 2
    for path in args.files:
        if not path.is_file():
            print(f"safehome decode: {path}: no such file", file=sys.stderr)
            return 2
        dec = make_decoder(args.driver)
        with open(path, "rb") as f:
            while True:
                chunk = f.read(CHUNK)
                recs = dec.feed(chunk) if chunk else dec.finish()
                for rec in recs:
                    out.write((json.dumps(rec, separators=(",", ":")) if args.json
                               else _text(rec)) + "\n")
                if not chunk:
                    break
        for k, v in dec.stats.items():
            totals[k] = totals.get(k, 0) + int(v)
        notes = getattr(dec, "notes", None)   # optional: what the capture says beyond frames
        if notes is not None:
            for line in notes(configured):
                print(f"{path.name}: {line}", file=sys.stderr)
    keys = list(SUMMARY_KEYS) + [k for k in totals if k not in SUMMARY_KEYS and totals[k]]
    print(", ".join(f"{k.replace('_', ' ')}: {totals.get(k, 0)}" for k in keys), file=sys.stderr)
    return 0
