"""`safehome centre`: the reference alarm receiver (a live view over gateway.centre.receiver.Centre).

WHY it ships with the gateway: installers need to see an alarm arrive and be
acknowledged before a real centre is connected, and centres need a working example of
the receiving side of docs/mqtt-api.md. Credentials are only ever read from environment
variables named on the command line, so they never sit in shell history or in logs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time

from gateway.commands.common import add_log_level


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("centre", help="reference alarm centre: live view, acknowledgements, log",
                       description="Subscribe to every gateway under the topic root, show gateways "
                                   "and alarms, acknowledge alarms and log each alarm once.")
    p.add_argument("--broker", required=True, action="append", metavar="URL",
                   help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT]; repeat to fail over between "
                        "several (e.g. cluster nodes)")
    p.add_argument("--root", default="safehome/v1", help="topic root (default %(default)s)")
    p.add_argument("--ca-file", help="CA certificate (PEM) to verify the broker; implies TLS")
    p.add_argument("--cert-file", help="client certificate (PEM)")
    p.add_argument("--key-file", help="client private key (PEM)")
    p.add_argument("--username-env", metavar="VAR", help="environment variable with the username")
    p.add_argument("--password-env", metavar="VAR", help="environment variable with the password")
    p.add_argument("--allow-insecure", action="store_true",
                   help="allow a non-loopback broker without TLS (not for production)")
    p.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    p.add_argument("--client-id", help="MQTT client id (default: safehome-centre-RANDOM)")
    p.add_argument("--auto-ack", action="store_true", help="acknowledge every alarm at once")
    p.add_argument("--ack-by", default=os.environ.get("USER", "centre"),
                   help="operator or system id put in acknowledgements (default %(default)s)")
    p.add_argument("--lang", choices=("fi", "sv", "en"), default="en", help="alarm text language")
    p.add_argument("--log", metavar="FILE", help="log every alarm once to FILE.csv or FILE.sqlite")
    p.add_argument("--db", metavar="URL_OR_FILE",
                   help="the alarm log: postgresql://... shared by redundant receivers (one row "
                        "per alarm, acks and overdue flags shared), or FILE.sqlite / FILE.csv "
                        "like --log")
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="serve Prometheus metrics on 127.0.0.1:PORT/metrics")
    p.add_argument("--headless", action="store_true",
                   help="no live table: one line per alarm on stdout (also when stdout is not a "
                        "terminal)")
    p.add_argument("--once-json", action="store_true",
                   help="listen --seconds, print one JSON snapshot (gateways, alarms), exit")
    p.add_argument("--seconds", type=float, default=5.0, help="listening time for --once-json")
    add_log_level(p, default="WARNING")
    p.set_defaults(func=main)


def _env(name: str | None) -> str | None:
    if not name:
        return None
    if name not in os.environ:
        raise SystemExit(f"safehome centre: environment variable {name} is not set")
    return os.environ[name]


def main(args: argparse.Namespace) -> int:
    from gateway.centre.receiver import Centre, CentreError

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db = log_path = None
    if args.db and args.db.startswith(("postgresql://", "postgres://")):
        db = args.db
    elif args.db:
        log_path = args.db
    if args.log and log_path:
        print("safehome centre: give the log once, with --log or --db", file=sys.stderr)
        return 2
    metrics = None
    try:
        centre = Centre(args.broker, root=args.root, ca_file=args.ca_file,
                        cert_file=args.cert_file, key_file=args.key_file,
                        username=_env(args.username_env), password=_env(args.password_env),
                        allow_insecure=args.allow_insecure, protocol=args.protocol,
                        client_id=args.client_id, auto_ack=args.auto_ack, ack_by=args.ack_by,
                        lang=args.lang, log_path=args.log or log_path, db=db)
        if args.metrics_port is not None:
            from gateway.centre.receiver.metrics import CentreMetrics
            metrics = centre.metrics = CentreMetrics(centre.gateway_counts)
            metrics.serve(args.metrics_port)
    except (CentreError, ValueError, OSError) as exc:
        print(f"safehome centre: {exc}", file=sys.stderr)
        return 2
    try:
        if args.once_json:
            return asyncio.run(_once(centre, args.seconds))
        from gateway.commands.common import until_signalled
        return asyncio.run(until_signalled(_live(centre, args.headless))) or 0
    except CentreError as exc:
        print(f"safehome centre: {exc}", file=sys.stderr)
        return 1


async def _once(centre, seconds: float) -> int:
    async with centre:
        await asyncio.sleep(seconds)
        snapshot = centre.snapshot()
    print(json.dumps(snapshot, ensure_ascii=False, indent=2))
    return 0


async def _live(centre, headless: bool = False) -> int:
    from rich.live import Live

    from gateway.centre.receiver.view import operator_command, render, stdin_lines
    from gateway.commands.common import console as wide_console

    console = wide_console()
    interactive = console.is_terminal and not headless
    if not interactive:     # a pipe or a service log: one line per alarm on stdout
        centre.listeners.append(lambda got: _print_alarm(centre, got))
    async with centre:
        lines = stdin_lines() if sys.stdin.isatty() else None
        note = ""
        if not interactive:
            await _wait_forever(centre, lines)
            return 0
        with Live(render(centre, time.time()), console=console, refresh_per_second=2,
                  transient=False) as live:
            while True:
                item: str | None = ""
                if lines is None:
                    await asyncio.sleep(0.5)
                else:
                    try:
                        item = await asyncio.wait_for(lines.get(), 0.5)
                    except TimeoutError:
                        pass
                if item is None:            # end of input: keep showing, stop reading
                    lines = None
                elif item.lower() in ("q", "quit", "exit"):
                    break
                elif item:
                    note = await operator_command(centre, item)
                live.update(render(centre, time.time(), note=note))
    return 0


async def _wait_forever(centre, lines) -> None:
    """Without a screen to draw on: serve typed commands (if a terminal types them)."""
    from gateway.centre.receiver.view import operator_command

    while True:
        if lines is None:
            await asyncio.sleep(3600)
            continue
        item = await lines.get()
        if item is None:
            lines = None
        elif item.lower() in ("q", "quit", "exit"):
            return
        elif item:
            print(await operator_command(centre, item), flush=True)


def _print_alarm(centre, got) -> None:
    if got.kind == "overdue":
        print(f"OVERDUE {got.gateway_id}: no heartbeat for {2.5:g} intervals", flush=True)
        return
    if got.alarm is None or got.duplicate:
        return
    a = got.alarm
    print(f"ALARM #{a.number} {a.gateway_id} seq={a.seq} {a.type}{' (test)' if a.test else ''}: "
          f"{a.text(centre.lang)}", flush=True)
