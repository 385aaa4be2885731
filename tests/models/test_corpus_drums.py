"""The drum corpus from MMA's grooves (needs the `mma` program; CI installs it): renders hold
drums, the manifest adds up, groove families never straddle the split, refusals and broken
grooves are reported."""

import pytest
from latentjam.models.corpus.drums import (
    STATUS_REPEAT,
    DrumBuildOptions,
    build_drum_corpus,
    process_groove,
    split_of,
)
from latentjam.models.corpus.manifest import STATUS_PARSE_FAILED
from latentjam.models.corpus.mma_grooves import Groove, list_grooves, mma_missing_reason
from latentjam.models.errors import InputError
from latentjam.models.notesequence_proto import parse_note_sequence
from latentjam.models.tfrecord import read_records


@pytest.fixture(scope="module")
def mma():
    reason = mma_missing_reason()
    if reason:
        pytest.skip(f"drum corpus tests need MMA: {reason}")


@pytest.fixture(scope="module")
def corpus(mma, tmp_path_factory):
    out = tmp_path_factory.mktemp("drums")
    manifest = build_drum_corpus(DrumBuildOptions(out, libraries=("stdlib", "zoom"), limit=6,
                                                  eval_percent=30, jobs=2))
    return out, manifest


def test_written_grooves_are_drums_only_and_the_counts_add_up(corpus):
    out, manifest = corpus
    totals, pieces = manifest["totals"], manifest["pieces"]
    assert totals["pieces_listed"] == len(pieces) == 12
    for split in ("train", "eval"):
        sequences = [parse_note_sequence(r) for r in read_records(out / f"{split}.tfrecord")]
        written = [p for p in pieces if p["split"] == split and p["status"] == "ok"]
        assert len(sequences) == totals["pieces_written"][split] == len(written)
        assert all(s.notes and all(n.is_drum for n in s.notes) for s in sequences)
        assert sum(p["windows_kept"] for p in written) == totals["windows_kept"][split]
    assert {p["status"] for p in pieces} <= {"ok", STATUS_REPEAT}
    assert all(p["licence"].startswith("GPL-2+") for p in pieces)


def test_a_family_never_sits_on_both_sides(corpus):
    _, manifest = corpus
    sides = {}
    for piece in manifest["pieces"]:
        family = piece["source_file"]
        sides.setdefault(family, set()).add(piece["split"])
    assert all(len(s) == 1 for s in sides.values())
    groove = list_grooves("stdlib")[0]
    assert split_of(groove, 100.0) == "eval" and split_of(groove, 0.0) == "train"


def test_a_groove_mma_cannot_render_is_reported(mma):
    real = list_grooves("stdlib")[0]
    broken = Groove("stdlib", real.family, "NoSuchGrooveAnywhere", real.path)
    record, payload, hashes = process_groove(broken, "cat-drums_2bar_small", 10.0)
    assert payload is None and hashes == []
    assert record.status == STATUS_PARSE_FAILED
    assert "NoSuchGrooveAnywhere" in record.error


def test_refused_and_unknown_libraries_are_named(mma, tmp_path):
    with pytest.raises(InputError, match="'yamaha' is refused: converted from Yamaha"):
        build_drum_corpus(DrumBuildOptions(tmp_path, libraries=("yamaha",)))
    with pytest.raises(InputError, match="unknown MMA library 'jazzlib'"):
        build_drum_corpus(DrumBuildOptions(tmp_path, libraries=("jazzlib",)))
