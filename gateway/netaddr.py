"""Addresses as the gateway judges them: what counts as this machine (loopback), where no
TLS (uplink) and no login (console) are needed."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
