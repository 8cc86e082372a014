"""What the console tells the browser on every response, and how it tells a request from
its own page apart from one that another site made the browser send.

Headers (every response, the login page and errors included):
- `Content-Security-Policy`: scripts, styles, images and connections only from the
  console itself; no inline script or style, no plugins, no `<base>`, forms post only
  here, and no framing (`frame-ancestors 'none'`): another page cannot load the console
  in an invisible frame and have the installer click its buttons;
- `X-Frame-Options: DENY` for browsers older than frame-ancestors;
- `X-Content-Type-Options: nosniff`: a JSON answer is never run as a script;
- `Referrer-Policy: no-referrer`: the first URL may carry `?token=`;
- `Cross-Origin-Opener-Policy` / `-Resource-Policy: same-origin`.

Cross-site changes: a state-changing request (POST) must come from the console's own
origin. Browsers send `Origin` on every POST; it must name the host the request was sent
to (the `Host` header; a reverse proxy passes it on, see docs/console.md). Without
`Origin`, `Sec-Fetch-Site` must not say cross-site. Scripts (curl) send neither and are
judged by the login and the `X-Safehome-Console` header alone.

Client address: the TCP peer, unless the peer is a configured reverse proxy; then the
last address in `X-Forwarded-For` that is not itself a trusted proxy. A header from
anyone else is ignored (anyone can write it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # annotations only: binding the socket loads no aiohttp (attach.py)
    from aiohttp import web

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp `on_response_prepare`: runs for every response before its headers go out."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def cross_site(request: web.Request) -> str | None:
    """Why the request is not from the console's own page, or None when it may be."""
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or not parts.netloc:
            return f"Origin {origin!r} is not the console's"
        if parts.netloc.lower() != (request.host or "").lower():
            return f"Origin {origin} is not this console ({request.host})"
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site}"
    return None


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


class ClientAddress:
    """The address a request is counted and logged under (see the module docstring)."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.proxies = {ip for ip in (_ip(p) for p in trusted_proxies) if ip is not None}

    def is_proxy(self, address: str) -> bool:
        return _ip(address) in self.proxies

    def https(self, request: web.Request) -> bool:
        """Whether a trusted proxy says the browser spoke HTTPS to it (the cookie is then Secure)."""
        return self.is_proxy(request.remote or "") and \
            request.headers.get("X-Forwarded-Proto", "").lower() == "https"

    def __call__(self, request: web.Request) -> str:
        peer = request.remote or "?"
        if not self.proxies or not self.is_proxy(peer):
            return peer
        hops = [h for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
        for hop in reversed(hops):
            address = _ip(hop)
            if address is None:
                return peer            # a malformed chain: count it as the proxy's own
            if address not in self.proxies:
                return address
        return peer
