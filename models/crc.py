"""CRC-32C as TensorFlow stores it in TFRecords and checkpoints (LevelDB's masking)."""

from __future__ import annotations

import google_crc32c

_MASK_DELTA = 0xA282EAD8  # LevelDB's and TensorFlow's mask constant


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """Masked so that a CRC of data that itself holds CRCs still varies."""
    crc = google_crc32c.value(bytes(data))
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF
