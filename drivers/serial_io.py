"""Serial ports and capture files as one async byte stream, for every serial driver.

Why one helper: each serial radar driver (TI mmWave, HLK-LD2410, Seeed MR60FDA1/2) needs
the same three things: open a UART at a baud rate without blocking the event loop, read
whatever bytes arrived, and, for the field, read a *capture file* instead of the port
(`port = "file:PATH"` in the home config; captures come from `safehome capture`). With
one `ByteStream` interface the driver's parsing path is identical for a live radar, a pty
emulator in a test and a recorded capture.

Usage in a driver:

    from drivers.serial_io import open_stream
    stream = await open_stream(settings.port, 256000, driver_type="hlk_ld2410")
    await stream.write(b"...")          # ignored (and recorded) for capture files
    data = await stream.read()          # b"" means end of file / port closed
    await stream.close()

pyserial-asyncio-fast is imported only when a real port is opened, so a capture replay
works without it and a missing library disables only serial drivers, with a clear
message (`DriverUnavailable`). A port that cannot be opened raises `SerialPortError`
naming the port and baud rate.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable

from drivers.base import DriverUnavailable, require_module

FILE_PREFIX = "file:"
DEFAULT_CHUNK = 4096


class SerialPortError(OSError):
    """The port is missing, busy or refused; the message says which and how to check."""


def is_file(port: str) -> bool:
    return port.startswith(FILE_PREFIX)


def file_path(port: str) -> Path:
    return Path(port[len(FILE_PREFIX):]).expanduser()


class ByteStream:
    """What drivers use. `read()` returns at least one byte, or b"" at the end."""

    name: str

    async def read(self, n: int = DEFAULT_CHUNK) -> bytes:
        raise NotImplementedError

    async def write(self, data: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> "ByteStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class SerialStream(ByteStream):
    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.name = name
        self._reader = reader
        self._writer = writer

    async def read(self, n: int = DEFAULT_CHUNK) -> bytes:
        return await self._reader.read(n)

    async def write(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - closing a vanished USB device may fail; nothing to do then
            pass


class FileStream(ByteStream):
    """A capture file. With `baudrate` and `realtime`, paced like the UART (10 bits/byte)
    so a replay runs at the speed the bytes were recorded; otherwise as fast as read."""

    def __init__(self, path: Path, baudrate: int | None = None, realtime: bool = False,
                 chunk: int = DEFAULT_CHUNK) -> None:
        self.name = f"{FILE_PREFIX}{path}"
        self._f = open(path, "rb")  # noqa: SIM115 - the port owns the file until close()
        self._bytes_per_s = (baudrate / 10.0) if (baudrate and realtime) else None
        self._chunk = chunk
        self._t0: float | None = None
        self._sent = 0
        #: what the driver wrote (configuration it would have sent to a real device)
        self.written = bytearray()

    async def read(self, n: int = DEFAULT_CHUNK) -> bytes:
        data = self._f.read(min(n, self._chunk))
        if self._bytes_per_s and data:
            if self._t0 is None:
                self._t0 = time.monotonic()
            self._sent += len(data)
            delay = self._t0 + self._sent / self._bytes_per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)  # let other tasks run between chunks of a big file
        return data

    async def write(self, data: bytes) -> None:
        self.written += data

    async def close(self) -> None:
        self._f.close()


async def open_stream(port: str, baudrate: int, *, driver_type: str = "serial",
                      realtime: bool = False) -> ByteStream:
    """Open `port` ("/dev/ttyUSB0", a pty path, or "file:PATH") at `baudrate` (8N1)."""
    if is_file(port):
        path = file_path(port)
        if not path.is_file():
            raise SerialPortError(f"capture file {str(path)!r} does not exist")
        return FileStream(path, baudrate, realtime)
    serial_asyncio = require_module(
        "serial_asyncio_fast", driver_type,
        "install it with `pip install pyserial-asyncio-fast`")
    try:
        reader, writer = await serial_asyncio.open_serial_connection(url=port, baudrate=baudrate)
    except DriverUnavailable:
        raise
    except Exception as exc:  # serial.SerialException, OSError, ValueError
        raise SerialPortError(
            f"cannot open serial port {port!r} at {baudrate} baud: {exc} "
            f"(is the device plugged in, and is the user in the 'dialout' group?)") from exc
    return SerialStream(port, reader, writer)


async def await_frame(stream: ByteStream, feed: Callable[[bytes], list[Any]], match: Callable[[Any], bool],
                      timeout: float, what: str) -> Any:
    """Read and parse until a frame for which `match` is true arrives (other frames, such
    as reports streaming meanwhile, are dropped). TimeoutError after `timeout` seconds;
    ConnectionError if the port closes. The request/answer step of every serial driver."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(what)
        try:
            chunk = await asyncio.wait_for(stream.read(), remaining)
        except asyncio.TimeoutError:
            continue
        if not chunk:
            raise ConnectionError(f"port closed while waiting for {what}")
        for f in feed(chunk):
            if match(f):
                return f
