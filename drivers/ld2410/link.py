"""A byte link for the LD2410 and Seeed drivers: a serial port, or a `file:PATH` capture.

Private fallback written while the shared `drivers/serial_io.py` did not exist yet; it
only does what these drivers need. A capture file behaves like a port that delivers the
recorded bytes and then ends (EOF), and silently swallows writes, so a driver configured
with `configure = true` must skip configuration for captures (`is_capture`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from drivers.base import DriverUnavailable, require_module


@dataclass
class ByteLink:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter | None
    is_capture: bool

    async def read(self, n: int = 4096) -> bytes:
        return await self.reader.read(n)

    async def write(self, data: bytes) -> None:
        if self.writer is None:
            return
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except Exception:  # a vanished USB adapter fails here; nothing to release
                pass
            self.writer = None


async def open_link(port: str, baud: int, driver_type: str) -> ByteLink:
    if port.startswith("file:"):
        path = Path(port[5:])
        if not path.is_file():
            raise DriverUnavailable(f"{driver_type}: capture file {path} does not exist")
        reader = asyncio.StreamReader()
        reader.feed_data(path.read_bytes())
        reader.feed_eof()
        return ByteLink(reader, None, True)
    sa = require_module("serial_asyncio_fast", driver_type,
                        "install pyserial-asyncio-fast (pip install pyserial-asyncio-fast)")
    if not Path(port).exists():
        raise DriverUnavailable(f"{driver_type}: serial port {port} does not exist "
                                "(is the USB adapter plugged in? see `safehome discover`)")
    reader, writer = await sa.open_serial_connection(url=port, baudrate=baud)
    return ByteLink(reader, writer, False)
