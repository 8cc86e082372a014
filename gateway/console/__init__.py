"""The installer's console: a local web page served by the daemon to commission a home.

Why inside the daemon: the page shows what the running gateway sees (sensor health, radar
frames, the test alarm's round trip through the centre); a second process would have to
open the same serial ports and radios. Why its own package: the alarm path must not
depend on it. The daemon never imports the console (its `[console]` table lives beside the other
config tables, gateway/console_config.py): `safehome run` attaches the console
(`attach.attach_console`) only when `[console] listen` is set, and everything here sees the
gateway through the narrow `host.ConsoleHost`; nothing in the core loops waits for the
console, and a console failure is logged and contained (see server.py).

Modules: `host` (what the console needs of the gateway), `attach` (how it is attached,
the one module that loads the server), `auth` (tokens, one-time links, sessions), `live` (a reading tap
that keeps rates, radar frames and the walk test), `views` (JSON for the API),
`test_alarm` (the test alarm's steps), `server` (aiohttp app and its lifecycle),
`listener` (the socket, connection caps and the request-head deadline), `limits`
(per-client token buckets and throttled log lines), `policy` (security headers, the
cross-site check, the client address behind a trusted proxy), and `static/` (the page:
plain HTML, CSS and JavaScript, no build step, no CDN).
"""
