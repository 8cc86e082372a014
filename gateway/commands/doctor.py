"""`safehome doctor --config FILE`: the commissioning checklist (see gateway/doctor/).

Run it with the gateway daemon stopped (`sudo systemctl stop safehome`): the doctor opens
the same serial ports and radios as the daemon, and two readers of one UART each get
half the bytes. The uplink test needs the daemon stopped too: its test alarm is numbered
with the gateway's next event seq and committed to the gateway's database, which only
one process may do (gateway/instance_lock.py); beside a running daemon the doctor
publishes nothing and fails that item saying so. READY (exit 0) needs the centre's ack.
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check sensors, uplink, clock and disk; print the fixes",
                       description="Commissioning checklist. Stop the gateway daemon first: "
                       "the doctor opens the same serial ports and radios.")
    p.add_argument("--config", required=True, help="the home's TOML config")
    p.add_argument("--json", action="store_true", help="print machine-readable results")
    p.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for each sensor and for the centre's ack (default 5)")
    p.add_argument("--broker", action="append", metavar="URL",
                   help="override mqtt.url, e.g. mqtt://127.0.0.1:1883; repeat for several "
                        "brokers (mqtt.urls), tried in turn")
    p.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    from gateway.config import ConfigError, MqttConfig, load_config
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "config": exc.path, "config_problems": exc.lines},
                             ensure_ascii=False, indent=2))
        else:
            print(f"✘ config: {exc.path}: {len(exc.lines)} problem(s) found:")
            for line in exc.lines:
                print(f"    - {line}")
            print("    fix: correct the file, then run `safehome config check FILE`")
        return ConfigError.exit_code
    if args.broker:
        try:
            cfg = cfg.model_copy(update={"mqtt": MqttConfig.model_validate(
                {**cfg.mqtt.model_dump(), "urls": args.broker})})
        except ValidationError as exc:
            for e in exc.errors():
                print(f"--broker: {e['msg']}", file=sys.stderr)
            return 2
    import asyncio
    import logging

    from gateway.checks.check import exit_code
    from gateway.doctor.report import as_json, print_checklist
    from gateway.doctor.runner import run_checks
    # Drivers log their retries; the checklist already says what went wrong.
    logging.basicConfig(level=logging.CRITICAL)
    checks = asyncio.run(run_checks(cfg, max(0.5, args.timeout)))
    if args.json:
        print(as_json(checks, config=str(args.config)))
    else:
        print_checklist(checks)
    return exit_code(checks)
