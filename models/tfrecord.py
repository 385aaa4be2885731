"""TFRecord files (uncompressed), as TensorFlow writes them, without TensorFlow.

Each record is: its length as a little-endian uint64, the masked CRC-32C of those 8 bytes
(uint32), the data, and the masked CRC-32C of the data. Reading checks both checksums, so a
damaged file is reported with the record at fault instead of yielding garbage.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from latentjam.models.crc import masked_crc32c
from latentjam.models.errors import ModelError

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


class TFRecordError(ModelError):
    """A TFRecord file that cannot be opened or is damaged."""


def read_records(path: str | Path) -> Iterator[bytes]:
    """The records of the file at ``path``, in order; TFRecordError names a damaged one."""
    path = Path(path)
    try:
        stream = path.open("rb")
    except OSError as err:
        raise TFRecordError(f"{path}: cannot open: {err.strerror or err}") from None
    with stream:
        index = 0
        while True:
            header = stream.read(_LENGTH.size + _CRC.size)
            if not header:
                return
            where = f"{path}: record {index}"
            if len(header) < _LENGTH.size + _CRC.size:
                raise TFRecordError(f"{where}: truncated header (is this a TFRecord file?)")
            length_bytes = header[:_LENGTH.size]
            (length_crc,) = _CRC.unpack(header[_LENGTH.size:])
            if masked_crc32c(length_bytes) != length_crc:
                raise TFRecordError(f"{where}: length checksum mismatch "
                                    f"(not a TFRecord file, compressed, or damaged)")
            (length,) = _LENGTH.unpack(length_bytes)
            data = stream.read(length)
            footer = stream.read(_CRC.size)
            if len(data) < length or len(footer) < _CRC.size:
                raise TFRecordError(f"{where}: truncated data ({len(data)} of {length} bytes)")
            if masked_crc32c(data) != _CRC.unpack(footer)[0]:
                raise TFRecordError(f"{where}: data checksum mismatch (damaged file)")
            yield data
            index += 1


def write_records(path: str | Path, records: Iterable[bytes]) -> int:
    """Write ``records`` to a new TFRecord file at ``path``; returns how many were written."""
    count = 0
    with Path(path).open("wb") as stream:
        for record in records:
            record = bytes(record)
            length = _LENGTH.pack(len(record))
            stream.write(length)
            stream.write(_CRC.pack(masked_crc32c(length)))
            stream.write(record)
            stream.write(_CRC.pack(masked_crc32c(record)))
            count += 1
    return count
