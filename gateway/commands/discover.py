"""`safehome discover`: find known radars on serial ports and wearables over BLE, and
print `[[sensors]]` snippets for them (logic in gateway/doctor/discovery.py, ble_scan.py,
snippets.py)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("discover", help="probe serial ports and BLE for known sensors; "
                       "print config snippets")
    p.add_argument("--json", action="store_true", help="print machine-readable results")
    p.add_argument("--timeout", type=float, default=1.5, metavar="S",
                   help="seconds to listen at each baud rate on each port (default 1.5)")
    p.add_argument("--listen", type=float, default=0.0, metavar="S",
                   help="after finding a TI radar, listen S more seconds (e.g. 60) while "
                        "someone walks across the room, and report its mounting "
                        "(height, tilt) and the sensorPosition that states it")
    p.add_argument("--port", action="append", default=[], metavar="DEV",
                   help="also probe DEV (repeatable); /dev/ttyUSB*, /dev/ttyACM* and "
                        "/dev/serial/by-id/* are always probed")
    p.add_argument("--ble-timeout", type=float, default=5.0, metavar="S",
                   help="seconds to scan BLE (default 5)")
    p.add_argument("--no-ble", action="store_true", help="do not scan BLE")
    p.add_argument("--query-ld2410", action="store_true",
                   help="ask an LD2410 found passively for its firmware version (read-only)")
    p.set_defaults(func=discover)


def discover(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import logging

    from gateway.doctor.ble_scan import BleNotAvailable, scan
    from gateway.doctor.discovery import candidate_ports, probe_ports
    from gateway.doctor.snippets import all_snippets

    logging.basicConfig(level=logging.CRITICAL)  # parsers warn about garbage: expected here

    async def run() -> tuple[list, list, str | None]:
        ports = candidate_ports(args.port)
        serial_task = asyncio.create_task(probe_ports(ports, args.timeout, args.query_ld2410,
                                                      args.listen))
        ble, ble_problem = [], None
        if args.no_ble:
            ble_problem = "not scanned (--no-ble)"
        else:
            try:
                ble = await scan(args.ble_timeout)
            except BleNotAvailable as exc:
                ble_problem = str(exc)
        return await serial_task, ble, ble_problem

    serial, ble, ble_problem = asyncio.run(run())
    found = [r.found for r in serial if r.found is not None]
    snippets = all_snippets(found, ble)
    if args.json:
        print(json.dumps({"serial": [r.to_json() for r in serial],
                          "ble": {"available": None if args.no_ble else ble_problem is None,
                                  "problem": ble_problem, "devices": [b.to_json() for b in ble]},
                          "snippets": snippets}, indent=2, ensure_ascii=False))
        return 0
    if not serial:
        print("serial: no ports found (plug the radar in; or name one with --port)")
    for r in serial:
        if r.found:
            f = r.found
            print(f"serial: {r.port}: {f.type} ({f.frames} frames at {f.baud} baud)")
            if f.detail.get("mounting_note"):
                print(f"serial: {r.port}: mounting: {f.detail['mounting_note']}")
        elif r.error:
            print(f"serial: {r.port}: cannot open: {r.error}")
        else:
            heard = ", ".join(f"{n} bytes at {b}" for b, n in r.heard.items())
            print(f"serial: {r.port}: nothing recognised ({heard})")
    if ble_problem is not None:
        print(f"BLE: not available: {ble_problem}")
    else:
        print(f"BLE: {len(ble)} known wearable(s) found")
        for b in ble:
            print(f"BLE: {b.address} {b.name or ''} RSSI {b.rssi} dBm: {', '.join(b.types)}")
    if snippets:
        print("\n# --- paste into the home's config, set each room, then "
              "`safehome config check FILE` ---\n")
        print(snippets, end="")
    return 0
