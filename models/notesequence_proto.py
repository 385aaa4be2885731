"""NoteSequence <-> the protobuf wire bytes of note-seq's ``music.proto`` ``NoteSequence``.

A small hand-written codec, so Magenta's TFRecords of NoteSequences are read and written
without protobuf or note-seq. It covers the fields our ``NoteSequence`` holds; every other
field (key signatures, source info, pitch bends, quantization, ...) is skipped on reading,
whatever its wire type. Writing follows protobuf's own proto3 rules (fields in number order,
default values left out), so the bytes equal ``SerializeToString`` of the same message.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from latentjam.models.errors import ModelError
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature

# Wire types.
VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5

# Field numbers from note-seq's music.proto.
SEQ_ID, SEQ_FILENAME, SEQ_COLLECTION_NAME, SEQ_TICKS_PER_QUARTER = 1, 2, 3, 4
SEQ_TIME_SIGNATURES, SEQ_TEMPOS, SEQ_NOTES, SEQ_TOTAL_TIME = 5, 7, 8, 9
NOTE_PITCH, NOTE_VELOCITY, NOTE_START_TIME, NOTE_END_TIME = 1, 2, 3, 4
NOTE_INSTRUMENT, NOTE_PROGRAM, NOTE_IS_DRUM = 7, 8, 9
TS_TIME, TS_NUMERATOR, TS_DENOMINATOR = 1, 2, 3
TEMPO_TIME, TEMPO_QPM = 1, 2


class ProtoDecodeError(ModelError):
    """Bytes that are not a well-formed NoteSequence message."""


# ---------------------------------------------------------------- writing


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative ints are written as 10-byte two's complement
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _int_field(number: int, value: int) -> bytes:
    return _key(number, VARINT) + _varint(int(value)) if value else b""


def _double_field(number: int, value: float) -> bytes:
    packed = struct.pack("<d", float(value))
    # proto3 leaves out exactly +0.0 (its bit pattern is all zeros); -0.0 is kept.
    return _key(number, FIXED64) + packed if packed != bytes(8) else b""


def _bytes_field(number: int, value: bytes) -> bytes:
    return _key(number, LENGTH_DELIMITED) + _varint(len(value)) + value


def _string_field(number: int, value: str) -> bytes:
    return _bytes_field(number, value.encode("utf-8")) if value else b""


def _note_bytes(note: Note) -> bytes:
    return b"".join((
        _int_field(NOTE_PITCH, note.pitch),
        _int_field(NOTE_VELOCITY, note.velocity),
        _double_field(NOTE_START_TIME, note.start_time),
        _double_field(NOTE_END_TIME, note.end_time),
        _int_field(NOTE_INSTRUMENT, note.instrument),
        _int_field(NOTE_PROGRAM, note.program),
        _int_field(NOTE_IS_DRUM, int(bool(note.is_drum))),
    ))


def _time_signature_bytes(ts: TimeSignature) -> bytes:
    return (_double_field(TS_TIME, ts.time) + _int_field(TS_NUMERATOR, ts.numerator)
            + _int_field(TS_DENOMINATOR, ts.denominator))


def _tempo_bytes(tempo: Tempo) -> bytes:
    return _double_field(TEMPO_TIME, tempo.time) + _double_field(TEMPO_QPM, tempo.qpm)


def serialize_note_sequence(ns: NoteSequence) -> bytes:
    """The wire bytes of ``ns`` as a note-seq ``NoteSequence`` message."""
    parts = [
        _string_field(SEQ_ID, ns.id),
        _string_field(SEQ_FILENAME, ns.filename),
        _string_field(SEQ_COLLECTION_NAME, ns.collection_name),
        _int_field(SEQ_TICKS_PER_QUARTER, ns.ticks_per_quarter),
    ]
    parts += [_bytes_field(SEQ_TIME_SIGNATURES, _time_signature_bytes(ts))
              for ts in ns.time_signatures]
    parts += [_bytes_field(SEQ_TEMPOS, _tempo_bytes(t)) for t in ns.tempos]
    parts += [_bytes_field(SEQ_NOTES, _note_bytes(n)) for n in ns.notes]
    parts.append(_double_field(SEQ_TOTAL_TIME, ns.total_time))
    return b"".join(parts)


# ---------------------------------------------------------------- reading


class _Reader:
    """Walks the fields of one message: yields (number, wire type, value)."""

    def __init__(self, data: bytes, source: str):
        self.data = data
        self.source = source

    def fail(self, what: str) -> ProtoDecodeError:
        return ProtoDecodeError(f"{self.source}: not a valid NoteSequence: {what}")

    def varint(self, pos: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            if pos >= len(self.data):
                raise self.fail("truncated varint")
            byte = self.data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result & ((1 << 64) - 1), pos
            shift += 7
            if shift >= 70:
                raise self.fail("varint longer than 10 bytes")

    def take(self, pos: int, size: int) -> tuple[bytes, int]:
        if pos + size > len(self.data):
            raise self.fail("truncated field")
        return self.data[pos:pos + size], pos + size

    def fields(self):
        pos = 0
        while pos < len(self.data):
            key, pos = self.varint(pos)
            number, wire_type = key >> 3, key & 7
            if number == 0:
                raise self.fail("field number 0")
            if wire_type == VARINT:
                value, pos = self.varint(pos)
            elif wire_type == FIXED64:
                value, pos = self.take(pos, 8)
            elif wire_type == LENGTH_DELIMITED:
                size, pos = self.varint(pos)
                value, pos = self.take(pos, size)
            elif wire_type == FIXED32:
                value, pos = self.take(pos, 4)
            elif wire_type == START_GROUP:
                pos = self.skip_group(pos, number)
                continue
            else:
                raise self.fail(f"wire type {wire_type} of field {number}")
            yield number, wire_type, value

    def skip_group(self, pos: int, group_number: int) -> int:
        """Skip a (deprecated) group up to its matching end tag, nested groups included."""
        while True:
            if pos >= len(self.data):
                raise self.fail(f"unterminated group {group_number}")
            key, pos = self.varint(pos)
            number, wire_type = key >> 3, key & 7
            if wire_type == END_GROUP:
                if number != group_number:
                    raise self.fail(f"group {group_number} closed by {number}")
                return pos
            if wire_type == VARINT:
                _, pos = self.varint(pos)
            elif wire_type == FIXED64:
                _, pos = self.take(pos, 8)
            elif wire_type == LENGTH_DELIMITED:
                size, pos = self.varint(pos)
                _, pos = self.take(pos, size)
            elif wire_type == FIXED32:
                _, pos = self.take(pos, 4)
            elif wire_type == START_GROUP:
                pos = self.skip_group(pos, number)
            else:
                raise self.fail(f"wire type {wire_type} of field {number}")


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _double(value: bytes) -> float:
    return struct.unpack("<d", value)[0]


# How each known field is read: field number -> (wire type, converter).
_Spec = dict[int, tuple[int, Callable]]
_NOTE_FIELDS: _Spec = {
    NOTE_PITCH: (VARINT, _int32), NOTE_VELOCITY: (VARINT, _int32),
    NOTE_START_TIME: (FIXED64, _double), NOTE_END_TIME: (FIXED64, _double),
    NOTE_INSTRUMENT: (VARINT, _int32), NOTE_PROGRAM: (VARINT, _int32),
    NOTE_IS_DRUM: (VARINT, bool),
}
_NOTE_NAMES = {NOTE_PITCH: "pitch", NOTE_VELOCITY: "velocity", NOTE_START_TIME: "start_time",
               NOTE_END_TIME: "end_time", NOTE_INSTRUMENT: "instrument",
               NOTE_PROGRAM: "program", NOTE_IS_DRUM: "is_drum"}
_TS_FIELDS: _Spec = {TS_TIME: (FIXED64, _double), TS_NUMERATOR: (VARINT, _int32),
                     TS_DENOMINATOR: (VARINT, _int32)}
_TS_NAMES = {TS_TIME: "time", TS_NUMERATOR: "numerator", TS_DENOMINATOR: "denominator"}
_TEMPO_FIELDS: _Spec = {TEMPO_TIME: (FIXED64, _double), TEMPO_QPM: (FIXED64, _double)}
_TEMPO_NAMES = {TEMPO_TIME: "time", TEMPO_QPM: "qpm"}


def _message(data: bytes, source: str, spec: _Spec, names: dict[int, str],
             defaults: dict[str, object]) -> dict[str, object]:
    values = dict(defaults)
    reader = _Reader(data, source)
    for number, wire_type, raw in reader.fields():
        if number not in spec:
            continue
        expected, convert = spec[number]
        if wire_type != expected:
            raise reader.fail(f"field {names[number]} has wire type {wire_type}")
        values[names[number]] = convert(raw)
    return values


def parse_note_sequence(data: bytes, source: str = "record") -> NoteSequence:
    """The NoteSequence in ``data``; ``source`` names it in a ProtoDecodeError."""
    ns = NoteSequence(ticks_per_quarter=0)
    reader = _Reader(bytes(data), source)
    text_fields = {SEQ_ID: "id", SEQ_FILENAME: "filename",
                   SEQ_COLLECTION_NAME: "collection_name"}
    for number, wire_type, raw in reader.fields():
        if number in text_fields or number in (SEQ_TIME_SIGNATURES, SEQ_TEMPOS, SEQ_NOTES):
            if wire_type != LENGTH_DELIMITED:
                raise reader.fail(f"field {number} has wire type {wire_type}")
        if number in text_fields:
            try:
                setattr(ns, text_fields[number], raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise reader.fail(f"{text_fields[number]} is not UTF-8") from None
        elif number == SEQ_TICKS_PER_QUARTER:
            if wire_type != VARINT:
                raise reader.fail("ticks_per_quarter is not a varint")
            ns.ticks_per_quarter = _int32(raw)
        elif number == SEQ_TOTAL_TIME:
            if wire_type != FIXED64:
                raise reader.fail("total_time is not a double")
            ns.total_time = _double(raw)
        elif number == SEQ_TIME_SIGNATURES:
            ts = _message(raw, source, _TS_FIELDS, _TS_NAMES,
                          {"time": 0.0, "numerator": 0, "denominator": 0})
            ns.time_signatures.append(TimeSignature(**ts))
        elif number == SEQ_TEMPOS:
            ns.tempos.append(Tempo(**_message(raw, source, _TEMPO_FIELDS, _TEMPO_NAMES,
                                              {"time": 0.0, "qpm": 0.0})))
        elif number == SEQ_NOTES:
            note = _message(raw, source, _NOTE_FIELDS, _NOTE_NAMES,
                            {"pitch": 0, "velocity": 0, "start_time": 0.0, "end_time": 0.0,
                             "instrument": 0, "program": 0, "is_drum": False})
            ns.notes.append(Note(**note))
    return ns


__all__ = ["ProtoDecodeError", "parse_note_sequence", "serialize_note_sequence"]
