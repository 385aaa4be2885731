"""LevelDB-format sorted tables (SSTables), the file format of a TF checkpoint's ``.index``.

Read and written without TensorFlow or LevelDB. Layout, as TensorFlow writes it:
data blocks, an (empty) metaindex block, an index block, then a 48-byte footer holding the
two blocks' handles and the magic number. Every block is followed by a 5-byte trailer: a
compression type byte (0 = none; checkpoints are written uncompressed) and the masked
crc32c of the block and its type byte. A block is a run of prefix-compressed entries
(varints: shared key bytes, unshared key bytes, value length; then the key suffix and the
value) followed by restart offsets (uint32 each) and their count (uint32).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from latentjam.models.crc import masked_crc32c
from latentjam.models.errors import CheckpointError

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles (at most 2 x 2 x 10 varint bytes), padding, magic
TRAILER_SIZE = 5
NO_COMPRESSION = 0
# TensorFlow's table defaults (tensorflow/core/lib/io/table_options.h).
BLOCK_SIZE = 262144
RESTART_INTERVAL = 16
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def encode_varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1  # two's complement, as protobuf encodes negative int64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int, source: str) -> tuple[int, int]:
    """``(value, next position)``; a CheckpointError names ``source`` on truncation."""
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise CheckpointError(f"{source}: truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
    raise CheckpointError(f"{source}: varint longer than 10 bytes")


# ----------------------------------------------------------------------------- reading


def _block(data: memoryview, handle: bytes, source: str) -> memoryview:
    """The contents of the block that ``handle`` points to, its checksum verified."""
    offset, pos = decode_varint(handle, 0, source)
    size, _ = decode_varint(handle, pos, source)
    end = offset + size
    if end + TRAILER_SIZE > len(data):
        raise CheckpointError(f"{source}: block at {offset} (+{size}) runs past the end of file")
    contents = data[offset:end]
    kind = data[end]
    (stored,) = _U32.unpack_from(data, end + 1)
    if masked_crc32c(data[offset:end + 1]) != stored:
        raise CheckpointError(f"{source}: checksum mismatch in the table block at byte {offset}")
    if kind != NO_COMPRESSION:
        raise CheckpointError(
            f"{source}: table block at byte {offset} is compressed (type {kind}); "
            f"only uncompressed tables (as TensorFlow writes checkpoints) are supported"
        )
    return contents


def _entries(block: memoryview, source: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise CheckpointError(f"{source}: table block of {len(block)} bytes is too short")
    (restarts,) = _U32.unpack_from(block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if restarts < 1 or limit < 0:
        raise CheckpointError(f"{source}: bad restart count {restarts} in a table block")
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = decode_varint(block, pos, source)
        unshared, pos = decode_varint(block, pos, source)
        value_size, pos = decode_varint(block, pos, source)
        if shared > len(key) or pos + unshared + value_size > limit:
            raise CheckpointError(f"{source}: corrupt entry at byte {pos} of a table block")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        entries.append((key, bytes(block[pos:pos + value_size])))
        pos += value_size
    return entries


def read_table(data: bytes, source: str) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of a table file's contents, in key order."""
    view = memoryview(data)
    if len(view) < FOOTER_SIZE:
        raise CheckpointError(f"{source}: {len(view)} bytes is too short for a table file")
    (magic,) = _U64.unpack_from(view, len(view) - 8)
    if magic != MAGIC:
        raise CheckpointError(f"{source}: not a LevelDB-format table (bad magic number)")
    footer = view[len(view) - FOOTER_SIZE:]
    _, pos = decode_varint(footer, 0, source)  # metaindex handle: unused by checkpoints
    _, pos = decode_varint(footer, pos, source)
    index = _block(view, bytes(footer[pos:FOOTER_SIZE - 8]), source)
    entries: list[tuple[bytes, bytes]] = []
    for _, handle in _entries(index, source):
        entries.extend(_entries(_block(view, handle, source), source))
    return entries


# ----------------------------------------------------------------------------- writing


def _block_bytes(entries: list[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    out = bytearray()
    restarts = [0]
    previous = b""
    for count, (key, value) in enumerate(entries):
        shared = 0
        if count % restart_interval == 0:
            if count:
                restarts.append(len(out))
        else:
            limit = min(len(previous), len(key))
            while shared < limit and previous[shared] == key[shared]:
                shared += 1
        out += encode_varint(shared) + encode_varint(len(key) - shared)
        out += encode_varint(len(value)) + key[shared:] + value
        previous = key
    for restart in restarts:
        out += _U32.pack(restart)
    out += _U32.pack(len(restarts))
    return bytes(out)


def _short_successor(key: bytes) -> bytes:
    """The shortest key >= ``key`` (LevelDB's bytewise FindShortSuccessor)."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def _short_separator(start: bytes, limit: bytes) -> bytes:
    """A short key in [start, limit) (LevelDB's bytewise FindShortestSeparator)."""
    common = 0
    while common < min(len(start), len(limit)) and start[common] == limit[common]:
        common += 1
    if common < min(len(start), len(limit)):
        byte = start[common]
        if byte < 0xFF and byte + 1 < limit[common]:
            return start[:common] + bytes([byte + 1])
    return start


def build_table(entries: Iterable[tuple[bytes, bytes]], block_size: int = BLOCK_SIZE) -> bytes:
    """A table file holding ``entries``, whose keys must be strictly increasing."""
    out = bytearray()

    def append_block(contents: bytes) -> bytes:
        handle = encode_varint(len(out)) + encode_varint(len(contents))
        trailer = bytes([NO_COMPRESSION])
        out.extend(contents + trailer + _U32.pack(masked_crc32c(contents + trailer)))
        return handle

    index: list[tuple[bytes, bytes]] = []
    pending: list[tuple[bytes, bytes]] = []
    pending_size = 0
    last_key: bytes | None = None
    for key, value in entries:
        if last_key is not None and key <= last_key:
            raise ValueError(f"table keys must be strictly increasing: {key!r} after {last_key!r}")
        if pending and pending_size >= block_size:
            handle = append_block(_block_bytes(pending, RESTART_INTERVAL))
            index.append((_short_separator(pending[-1][0], key), handle))
            pending, pending_size = [], 0
        pending.append((key, value))
        pending_size += len(key) + len(value) + 3
        last_key = key
    if pending:
        handle = append_block(_block_bytes(pending, RESTART_INTERVAL))
        index.append((_short_successor(pending[-1][0]), handle))
    metaindex = append_block(_block_bytes([], 1))
    index_handle = append_block(_block_bytes(index, 1))
    footer = metaindex + index_handle
    out += footer + bytes(FOOTER_SIZE - 8 - len(footer)) + _U64.pack(MAGIC)
    return bytes(out)
