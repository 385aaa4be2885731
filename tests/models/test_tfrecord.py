"""TFRecord reading and writing: TensorFlow's own bytes, round trips, damaged files."""

from __future__ import annotations

from pathlib import Path

import pytest
from latentjam.models.errors import ModelError
from latentjam.models.tfrecord import read_records, write_records

# Written by tf.io.TFRecordWriter (TensorFlow 2.21): b"latentjam", b"", bytes(range(200)).
TENSORFLOW_FILE = bytes.fromhex(
    "090000000000000037f971396c6174656e746a616d1a21520c000000000000000029039807d8ea82a2"
    "c800000000000000fdaa9078" + bytes(range(200)).hex() + "ef9c6a6d"
)
TENSORFLOW_RECORDS = [b"latentjam", b"", bytes(range(200))]


def test_reads_what_tensorflow_wrote(tmp_path: Path):
    path = tmp_path / "tf.tfrecord"
    path.write_bytes(TENSORFLOW_FILE)
    assert list(read_records(path)) == TENSORFLOW_RECORDS


def test_writes_what_tensorflow_writes(tmp_path: Path):
    path = tmp_path / "ours.tfrecord"
    assert write_records(path, iter(TENSORFLOW_RECORDS)) == 3
    assert path.read_bytes() == TENSORFLOW_FILE


def test_empty_file_has_no_records(tmp_path: Path):
    path = tmp_path / "empty.tfrecord"
    assert write_records(path, []) == 0
    assert list(read_records(path)) == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-2], "record 2: truncated data"),
        (lambda b: b[:len(b) - 210], "record 2: truncated header"),
        (lambda b: b[:14] + bytes([b[14] ^ 1]) + b[15:], "record 0: data checksum"),
        (lambda b: b[:25] + b"\x01" + b[26:], "record 1: length checksum"),
    ],
)
def test_damage_names_the_file_and_record(tmp_path: Path, damage, message):
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(damage(TENSORFLOW_FILE))
    with pytest.raises(ModelError, match=f"bad.tfrecord: {message}"):
        list(read_records(path))


def test_not_a_tfrecord_and_missing_file(tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("this is plain text, long enough to hold a header")
    with pytest.raises(ModelError, match="notes.txt: record 0: length checksum"):
        list(read_records(text))
    with pytest.raises(ModelError, match="nothing.tfrecord: cannot open"):
        list(read_records(tmp_path / "nothing.tfrecord"))
