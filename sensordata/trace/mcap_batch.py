"""mcap's Writer with one addition: many Message records of one channel in one call.

Trace format v2 writes one message per accelerometer sample, over 4 million a day;
`Writer.add_message` costs about 10 us each in Python (a Message object, a dozen small
writes, an index tuple), which would make simulating a day a minute slower. `add_records`
takes the records already laid out (numpy builds an accelerometer window's records in one
go) and does the bookkeeping `add_message` does, once per batch: chunk and file
statistics, the chunk's message index, closing the chunk when it is full.

It reaches into three private attributes of mcap's Writer (its chunk builder, statistics
and chunk-closing method); `BatchWriter.__init__` checks they exist, so an mcap release
that renames them fails loudly at the first trace written, not with a corrupt file.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
from mcap.records import MessageIndex
from mcap.writer import Writer

MESSAGE_HEAD = struct.Struct("<BQHIQQ")   # opcode, length, channel, sequence, log, publish
_OPCODE_MESSAGE = 0x05


class ArrayMessageIndex(MessageIndex):
    """A chunk's message index for one channel, kept as numpy arrays and written in one go
    (mcap writes each entry with two struct calls)."""

    def __init__(self, channel_id: int) -> None:
        super().__init__(channel_id=channel_id, records=[])
        self.parts: list[np.ndarray] = []

    def write(self, stream: Any) -> None:
        rows = [np.asarray(self.records, dtype="<u8").reshape(-1, 2)] + self.parts
        entries = np.concatenate(rows) if rows else np.zeros((0, 2), "<u8")
        # the MCAP spec orders entries by log time; ties keep the file order
        entries = entries[np.lexsort((entries[:, 1], entries[:, 0]))]
        stream.start_record(0x07)
        stream.write2(self.channel_id)
        stream.write4(entries.size * 8)
        stream.write(entries.astype("<u8").tobytes())
        stream.finish_record()


class BatchWriter(Writer):
    def __init__(self, output: IO[bytes], **kwargs: Any) -> None:
        super().__init__(output, **kwargs)
        for name in ("_Writer__chunk_builder", "_Writer__statistics",
                     "_Writer__maybe_finalize_chunk"):
            if not hasattr(self, name):
                raise RuntimeError(f"this mcap version has no Writer.{name.split('__')[1]}; "
                                   "sensordata/trace/mcap_batch.py needs updating")
        if self._Writer__chunk_builder is None:  # type: ignore[attr-defined]
            raise ValueError("BatchWriter needs chunking")

    def add_records(self, channel_id: int, log_times: np.ndarray, records: bytes,
                    offsets: np.ndarray) -> None:
        """Append Message records (already laid out, `offsets` relative to `records`) of
        one channel with their log times."""
        n = len(log_times)
        if n == 0:
            return
        builder = self._Writer__chunk_builder  # type: ignore[attr-defined]
        stats = self._Writer__statistics  # type: ignore[attr-defined]
        lo, hi = int(log_times.min()), int(log_times.max())
        base = builder.record_writer.count
        builder.record_writer.write(records)
        builder.message_start_time = lo if builder.num_messages == 0 else min(
            builder.message_start_time, lo)
        builder.message_end_time = max(builder.message_end_time, hi)
        index = builder.message_indices.get(channel_id)
        if not isinstance(index, ArrayMessageIndex):
            fresh = ArrayMessageIndex(channel_id)
            if index is not None:
                fresh.records.extend(index.records)
            builder.message_indices[channel_id] = index = fresh
        index.parts.append(np.stack([log_times.astype("<u8"),
                                     offsets.astype("<u8") + np.uint64(base)], axis=1))
        builder.num_messages += n
        stats.message_start_time = lo if stats.message_count == 0 else min(
            stats.message_start_time, lo)
        stats.message_end_time = max(stats.message_end_time, hi)
        stats.channel_message_counts[channel_id] += n
        stats.message_count += n
        self._Writer__maybe_finalize_chunk()  # type: ignore[attr-defined]

    def add_datas(self, channel_id: int, log_times: Sequence[int], datas: Sequence[bytes],
                  publish_time: int) -> None:
        """Append one message per item of `datas` (variable sizes) in one call."""
        parts: list[bytes] = []
        offsets: list[int] = []
        pos = 0
        pack = MESSAGE_HEAD.pack
        for log, data in zip(log_times, datas, strict=True):
            head = pack(_OPCODE_MESSAGE, 22 + len(data), channel_id, 0, log, publish_time)
            offsets.append(pos)
            parts.append(head)
            parts.append(data)
            pos += 31 + len(data)
        self.add_records(channel_id, np.asarray(log_times, dtype=np.uint64), b"".join(parts),
                         np.asarray(offsets, dtype=np.uint64))
