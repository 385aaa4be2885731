"""NoteSequence wire codec: round trips, and the real protobuf library as the referee."""

from __future__ import annotations

import pytest
from latentjam.models.errors import ModelError
from latentjam.models.notesequence import Note, NoteSequence, Tempo, TimeSignature
from latentjam.models.notesequence_proto import parse_note_sequence, serialize_note_sequence


def sample_sequence() -> NoteSequence:
    return NoteSequence(
        notes=[Note(60, 100, 0.0, 0.5, 0, 0, False), Note(36, 127, 0.25, 0.375, 9, 0, True),
               Note(40, 1, 1.5, 2.0, 1, 33, False), Note(72, 64, -0.0, 1e-9, -1, 127)],
        tempos=[Tempo(0.0, 120.0), Tempo(2.0, 93.5)],
        time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(1.0, 7, 8)],
        total_time=2.0, ticks_per_quarter=480, id="/id/midi/x/123", filename="söng.mid",
        collection_name="corpus",
    )


def test_round_trip():
    ns = sample_sequence()
    assert parse_note_sequence(serialize_note_sequence(ns)) == ns


def test_empty_sequence_is_empty_bytes():
    assert serialize_note_sequence(NoteSequence(ticks_per_quarter=0)) == b""
    assert parse_note_sequence(b"") == NoteSequence(ticks_per_quarter=0)


@pytest.mark.parametrize("cut", [1, 7, 20])
def test_truncated_bytes_name_the_source(cut: int):
    data = serialize_note_sequence(sample_sequence())
    with pytest.raises(ModelError, match="train.tfrecord record 3: not a valid NoteSequence"):
        parse_note_sequence(data[:-cut], source="train.tfrecord record 3")


def test_a_known_field_with_the_wrong_wire_type_is_an_error():
    with pytest.raises(ModelError, match="total_time"):
        parse_note_sequence(bytes([9 << 3 | 0, 1]))  # total_time sent as a varint


# ------------------------------------------------------------ protobuf as the referee

def _music_proto_classes():
    """A subset of note-seq's music.proto built at test time, with fields we do not model."""
    descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2")
    from google.protobuf import descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="music_subset.proto", package="magenta",
                                              syntax="proto3")
    seq = file.message_type.add(name="NoteSequence")

    def add(message, name, number, kind, repeated=False, type_name=None):
        field = message.field.add(name=name, number=number, type=kind,
                                  label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
        if type_name:
            field.type_name = type_name

    msg = F.TYPE_MESSAGE
    for name, number, kind, rep, tname in [
        ("id", 1, F.TYPE_STRING, False, None), ("filename", 2, F.TYPE_STRING, False, None),
        ("reference_number", 18, F.TYPE_INT64, False, None),
        ("collection_name", 3, F.TYPE_STRING, False, None),
        ("ticks_per_quarter", 4, F.TYPE_INT32, False, None),
        ("time_signatures", 5, msg, True, ".magenta.NoteSequence.TimeSignature"),
        ("key_signatures", 6, msg, True, ".magenta.NoteSequence.KeySignature"),
        ("tempos", 7, msg, True, ".magenta.NoteSequence.Tempo"),
        ("notes", 8, msg, True, ".magenta.NoteSequence.Note"),
        ("total_time", 9, F.TYPE_DOUBLE, False, None),
        ("total_quantized_steps", 16, F.TYPE_INT64, False, None),
    ]:
        add(seq, name, number, kind, rep, tname)
    note = seq.nested_type.add(name="Note")
    for name, number, kind in [
        ("pitch", 1, F.TYPE_INT32), ("velocity", 2, F.TYPE_INT32),
        ("start_time", 3, F.TYPE_DOUBLE), ("quantized_start_step", 13, F.TYPE_INT64),
        ("end_time", 4, F.TYPE_DOUBLE), ("numerator", 5, F.TYPE_INT32),
        ("instrument", 7, F.TYPE_INT32), ("program", 8, F.TYPE_INT32),
        ("is_drum", 9, F.TYPE_BOOL), ("part", 10, F.TYPE_INT32), ("voice", 12, F.TYPE_INT32),
    ]:
        add(note, name, number, kind)
    ts = seq.nested_type.add(name="TimeSignature")
    for name, number, kind in [("time", 1, F.TYPE_DOUBLE), ("numerator", 2, F.TYPE_INT32),
                               ("denominator", 3, F.TYPE_INT32)]:
        add(ts, name, number, kind)
    key = seq.nested_type.add(name="KeySignature")
    for name, number, kind in [("time", 1, F.TYPE_DOUBLE), ("key", 2, F.TYPE_INT32),
                               ("mode", 3, F.TYPE_INT32)]:
        add(key, name, number, kind)
    tempo = seq.nested_type.add(name="Tempo")
    for name, number, kind in [("time", 1, F.TYPE_DOUBLE), ("qpm", 2, F.TYPE_DOUBLE)]:
        add(tempo, name, number, kind)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("magenta.NoteSequence"))


def _to_proto(cls, ns: NoteSequence):
    proto = cls(id=ns.id, filename=ns.filename, collection_name=ns.collection_name,
                ticks_per_quarter=ns.ticks_per_quarter, total_time=ns.total_time)
    for t in ns.time_signatures:
        proto.time_signatures.add(time=t.time, numerator=t.numerator, denominator=t.denominator)
    for t in ns.tempos:
        proto.tempos.add(time=t.time, qpm=t.qpm)
    for n in ns.notes:
        proto.notes.add(pitch=n.pitch, velocity=n.velocity, start_time=n.start_time,
                        end_time=n.end_time, instrument=n.instrument, program=n.program,
                        is_drum=n.is_drum)
    return proto


def test_bytes_equal_protobufs_own():
    cls = _music_proto_classes()
    ns = sample_sequence()
    ours = serialize_note_sequence(ns)
    assert ours == _to_proto(cls, ns).SerializeToString()
    back = cls.FromString(ours)
    assert [n.instrument for n in back.notes] == [n.instrument for n in ns.notes]
    assert back.filename == ns.filename


def test_fields_we_do_not_model_are_skipped():
    cls = _music_proto_classes()
    ns = sample_sequence()
    proto = _to_proto(cls, ns)
    proto.reference_number = -5
    proto.total_quantized_steps = 1 << 40
    proto.key_signatures.add(time=1.0, key=3, mode=1)
    for note in proto.notes:
        note.quantized_start_step = 7
        note.numerator = 3
        note.part = -2
        note.voice = 1
    data = proto.SerializeToString()
    # Wire types protobuf no longer writes for this schema: a fixed32 and a nested group.
    fixed32 = bytes([15 << 3 | 5]) + b"\x00\x00\x80\x3f"
    group = bytes([14 << 3 | 3, 1 << 3 | 0, 5, 13 << 3 | 3, 13 << 3 | 4, 14 << 3 | 4])
    assert parse_note_sequence(fixed32 + data + group) == ns
    assert cls.FromString(fixed32 + data + group).notes[0].part == -2  # still valid protobuf


def test_an_unclosed_group_is_an_error():
    with pytest.raises(ModelError, match="unterminated group"):
        parse_note_sequence(bytes([14 << 3 | 3, 1 << 3 | 0, 5]))
