"""`safehome bridge dc09`: forward gateways' alarms to an alarm receiver over SIA DC-09.

WHY a bridge and not a change to the centre: home-care centres already run alarm
receiving software that speaks DC-09 (Contact ID in ADM-CID messages); with the bridge a
centre receives a Safehome fall like any other alarm, without writing code. The AES key
is read from the environment variable named by --key-env, never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from gateway.commands.common import add_log_level

DEFAULT_QUEUE = "/var/lib/safehome/dc09-bridge.sqlite"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bridge", help="bridge gateways' alarms to other alarm-centre software")
    bsub = p.add_subparsers(dest="bridge_command", required=True, metavar="PROTOCOL")
    d = bsub.add_parser(
        "dc09", help="SIA DC-09 (Contact ID) to an alarm receiver",
        description="Subscribe to the gateways' alarm and event topics and forward each event "
                    "that has a Contact ID code to a SIA DC-09 receiver (ADM-CID over TCP), one "
                    "account per gateway. An alarm is acknowledged on MQTT only after the "
                    "receiver's ACK. See docs/contact-id.md.")
    d.add_argument("--config", metavar="FILE", help="bridge config (TOML); the other options "
                   "then override or add to it")
    d.add_argument("--broker", help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    d.add_argument("--receiver", metavar="HOST:PORT", help="the DC-09 alarm receiver")
    d.add_argument("--account", action="append", default=[], metavar="GATEWAY_ID=ACCOUNT",
                   help="DC-09 account (3-16 hex digits) of a gateway; repeat for each gateway")
    d.add_argument("--zone", action="append", default=[], metavar="GATEWAY_ID:ROOM=ZONE",
                   help="Contact ID zone (1-999) of a room; repeat")
    d.add_argument("--user", action="append", default=[], metavar="GATEWAY_ID:SENSOR=USER",
                   help="Contact ID user number (1-999) of a personal sensor; repeat")
    d.add_argument("--key-env", metavar="VAR", help="environment variable with the AES key (hex)")
    d.add_argument("--queue", metavar="FILE", help=f"SQLite queue (default {DEFAULT_QUEUE})")
    d.add_argument("--null-interval", type=float, help="seconds between NULL messages (60)")
    d.add_argument("--ack-timeout", type=float, help="seconds to wait for the receiver (10)")
    d.add_argument("--bridge-id", help="name of this bridge (dc09-bridge)")
    d.add_argument("--root", help="MQTT topic root (safehome/v1)")
    d.add_argument("--ca-file", help="CA certificate (PEM) to verify the broker; implies TLS")
    d.add_argument("--cert-file", help="client certificate (PEM)")
    d.add_argument("--key-file", help="client private key (PEM)")
    d.add_argument("--username-env", metavar="VAR", help="environment variable with the username")
    d.add_argument("--password-env", metavar="VAR", help="environment variable with the password")
    d.add_argument("--allow-insecure", action="store_true",
                   help="allow a non-loopback broker without TLS (not for production)")
    add_log_level(d)
    d.set_defaults(func=main)


def build_data(args: argparse.Namespace, base: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config table from the file (if any) plus the command line; and the problems
    with the command line itself (malformed options)."""
    data: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    problems: list[str] = []
    mqtt = data.setdefault("mqtt", {})
    receiver = data.setdefault("receiver", {})
    if not isinstance(mqtt, dict) or not isinstance(receiver, dict):
        return data, problems
    for opt, table, key in (("broker", mqtt, "url"), ("root", mqtt, "topic_root"),
                            ("ca_file", mqtt, "ca_file"), ("cert_file", mqtt, "cert_file"),
                            ("key_file", mqtt, "key_file"), ("username_env", mqtt, "username_env"),
                            ("password_env", mqtt, "password_env"),
                            ("key_env", receiver, "key_env"),
                            ("null_interval", receiver, "null_interval"),
                            ("ack_timeout", receiver, "ack_timeout"),
                            ("queue", data, "queue"), ("bridge_id", data, "bridge_id")):
        value = getattr(args, opt)
        if value is not None:
            table[key] = value
    if args.allow_insecure:
        mqtt["allow_insecure"] = True
    if args.receiver:
        host, sep, port = args.receiver.rpartition(":")
        if not sep or not host or not port.isdigit():
            problems.append(f"--receiver {args.receiver!r}: expected HOST:PORT, e.g. 10.0.0.5:5000")
        else:
            receiver["host"], receiver["port"] = host.strip("[]"), int(port)
    accounts = data.setdefault("accounts", [])
    by_gw = {a.get("gateway_id"): a for a in accounts if isinstance(a, dict)}
    for text in args.account:
        gw, sep, acct = text.partition("=")
        if not sep or not gw or not acct:
            problems.append(f"--account {text!r}: expected GATEWAY_ID=ACCOUNT, e.g. gw-0001=1234")
            continue
        entry = by_gw.get(gw)
        if entry is None:
            entry = by_gw[gw] = {"gateway_id": gw}
            accounts.append(entry)
        entry["account"] = acct.upper()
    for opt, table_name in (("zone", "zones"), ("user", "users")):
        for text in getattr(args, opt):
            left, sep, number = text.partition("=")
            gw, colon, name = left.partition(":")
            if not (sep and colon and gw and name and number.isdigit()):
                problems.append(f"--{opt} {text!r}: expected GATEWAY_ID:"
                                f"{'ROOM' if opt == 'zone' else 'SENSOR'}=NUMBER")
                continue
            if gw not in by_gw:
                problems.append(f"--{opt} {text!r}: gateway {gw!r} has no --account")
                continue
            by_gw[gw].setdefault(table_name, {})[name] = int(number)
    if "queue" not in data:
        data["queue"] = DEFAULT_QUEUE
    return data, problems


def _env(name: str | None) -> str | None:
    if not name:
        return None
    if name not in os.environ:
        raise SystemExit(f"safehome bridge: environment variable {name} is not set")
    return os.environ[name]


def main(args: argparse.Namespace) -> int:
    import tomllib

    from gateway.centre.bridge.config import parse_bridge_config
    from gateway.commands.common import setup_logging
    from gateway.config import ConfigError

    source = args.config or "command line"
    base: dict[str, Any] = {}
    if args.config:
        try:
            base = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            print(f"{args.config}: cannot read the bridge config: {exc}", file=sys.stderr)
            return 2
    data, problems = build_data(args, base)
    try:
        if problems:
            raise ConfigError(source, problems)
        cfg, key = parse_bridge_config(data, source)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.lines)} problem(s) found:", file=sys.stderr)
        for line in exc.lines:
            print(f"  - {line}", file=sys.stderr)
        return ConfigError.exit_code
    setup_logging(args.log_level)
    from gateway.centre.bridge.mqtt_side import BrokerRefused
    from gateway.centre.bridge.service import Bridge

    bridge = Bridge(cfg, key, username=_env(cfg.mqtt.username_env),
                    password=_env(cfg.mqtt.password_env))
    logging.getLogger("safehome.bridge").info(
        "bridging %d gateway(s) to %s:%d (%s), queue %s", len(cfg.accounts), cfg.receiver.host,
        cfg.receiver.port, "AES" if key else "unencrypted", cfg.queue)
    try:
        asyncio.run(_run(bridge))
    except BrokerRefused as exc:
        print(f"safehome bridge: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(bridge: Any) -> None:
    from gateway.commands.common import until_signalled

    await until_signalled(bridge.run())
