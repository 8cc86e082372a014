"""`safehome console link --config FILE`: a one-time login link to the installer's console,
printed as a URL and as a QR code for the installer's phone.

The link's code is written (hashed) to the links file the running daemon reads, so this
command needs no connection to the daemon; run it as the daemon's user (or root) on the
gateway. Each link logs in one browser once, within `console.link_minutes`.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from typing import TextIO

from gateway.commands.common import load_or_exit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("console", help="the installer's console (web page served by `run`)")
    csub = p.add_subparsers(dest="console_command", required=True, metavar="ACTION")
    c = csub.add_parser("link", help="print a one-time login link as a URL and a QR code")
    c.add_argument("--config", required=True, help="the home's TOML config")
    c.add_argument("--host", help="address the phone reaches the gateway at (default: the "
                   "listen address, or this machine's LAN address when listening on all)")
    c.add_argument("--lang", choices=("fi", "sv", "en"), help="language the page opens in")
    c.add_argument("--no-qr", action="store_true", help="print only the URL")
    c.set_defaults(func=link)


def lan_address() -> str:
    """The address other machines on the LAN most likely reach this one at. A UDP
    'connect' only picks the route; nothing is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            return str(s.getsockname()[0])
    except OSError:
        return socket.gethostname()


def url_host(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.is_unspecified:
        return lan_address()
    return f"[{host}]" if ip.version == 6 else host


def print_qr(text: str, out: TextIO) -> None:
    import segno
    segno.make(text, error="m").terminal(out=out, compact=True)


def link(args: argparse.Namespace) -> int:
    cfg = load_or_exit(args.config)
    if isinstance(cfg, int):
        return cfg
    cc = cfg.console
    if not cc.enabled:
        print(f"{args.config}: console.listen is not set, so the gateway serves no console; "
              "add [console] listen = \"127.0.0.1:8380\" (or a LAN address with a token)",
              file=sys.stderr)
        return 2
    host = url_host(args.host or cc.host)
    lang = f"&lang={args.lang}" if args.lang else ""
    if not cc.needs_login:
        url = f"http://{host}:{cc.port}/" + (f"?lang={args.lang}" if args.lang else "")
        print(f"{url}\n(listening on loopback: no login needed; from another machine use "
              f"`ssh -L {cc.port}:127.0.0.1:{cc.port} GATEWAY`)")
        return 0
    if not cc.one_time_links:
        print(f"{args.config}: console.one_time_links is not true, so one-time links are refused; "
              f"set it, or log in with the token from ${cc.token_env} (?token=...)", file=sys.stderr)
        return 2
    from gateway.console.auth import LinkBook
    book = LinkBook(cc.links_path(cfg.storage.path))
    try:
        code = book.issue(cc.link_minutes)
    except OSError as exc:
        print(f"cannot write the links file {book.path}: {exc}; run this as the gateway's user "
              "(or with sudo)", file=sys.stderr)
        return 1
    url = f"http://{host}:{cc.port}/?link={code}{lang}"
    print(url)
    if not args.no_qr:
        print_qr(url, sys.stdout)
    print(f"valid once, for {cc.link_minutes:g} minutes")
    return 0
