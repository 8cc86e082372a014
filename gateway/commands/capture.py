"""`safehome capture --port DEV --baud N -o FILE [--duration S]`: record raw serial bytes.

In the field the question is often "what exactly does this radar send?". This records
the bytes untouched (no parsing, no timestamps inside the file) so the capture can be
decoded later with `safehome decode`, replayed by a driver with `port = "file:PATH"`,
or attached to a bug report. It stops after --duration seconds or on Ctrl-C, and prints
the byte count on stderr. Note that a TI radar only streams after its chirp config was
sent, e.g. by a running gateway on the CLI port while this records the data port.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from gateway.commands.common import duration_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "capture", help="record raw bytes from a serial port into a file",
        description="Record raw bytes from a serial port (for `safehome decode` and replay).")
    p.add_argument("--port", required=True, help="serial device, e.g. /dev/ttyUSB1")
    p.add_argument("--baud", type=int, required=True, help="baud rate, e.g. 921600")
    p.add_argument("-o", "--output", required=True, type=Path, help="file to write")
    p.add_argument("--duration", type=duration_arg, default=None,
                   help="stop after this long, e.g. 90s, 10m, 2h (default: until Ctrl-C)")
    p.set_defaults(func=run)


async def _capture(port: str, baud: int, out: Path, duration: float | None,
                   counter: list[int]) -> None:
    from drivers.serial_io import open_stream

    stream = await open_stream(port, baud, driver_type="capture")
    loop = asyncio.get_running_loop()
    end = None if duration is None else loop.time() + duration
    try:
        with open(out, "wb") as f:  # noqa: ASYNC230 - a CLI capture: nothing else runs on this loop
            while end is None or loop.time() < end:
                timeout = None if end is None else max(0.0, end - loop.time())
                try:
                    data = await asyncio.wait_for(stream.read(65536), timeout)
                except asyncio.TimeoutError:
                    break
                if not data:
                    break
                f.write(data)
                f.flush()
                counter[0] += len(data)
    finally:
        await stream.close()


def run(args: argparse.Namespace) -> int:
    from drivers.base import DriverUnavailable
    from drivers.serial_io import SerialPortError

    counter = [0]
    try:
        asyncio.run(_capture(args.port, args.baud, args.output, args.duration, counter))
    except (SerialPortError, DriverUnavailable) as exc:
        print(f"safehome capture: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass  # Ctrl-C is the normal way to stop an open-ended capture
    print(f"captured {counter[0]} bytes from {args.port} at {args.baud} baud into {args.output}",
          file=sys.stderr)
    return 0
