"""A tiny corpus build: readable records, a manifest whose counts add up, failures reported."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("music21")

from latentjam.models.configs import get_config  # noqa: E402
from latentjam.models.corpus.build import (  # noqa: E402
    BuildOptions,
    build_corpus,
    process_file,
    split_of,
)
from latentjam.models.corpus.collections import (  # noqa: E402
    PieceSource,
    abc_tunes,
    check_collections,
    split_key,
)
from latentjam.models.corpus.manifest import STATUS_PARSE_FAILED, read_manifest  # noqa: E402
from latentjam.models.encodings.converters import get_converter  # noqa: E402
from latentjam.models.errors import InputError  # noqa: E402
from latentjam.models.notesequence_proto import parse_note_sequence  # noqa: E402
from latentjam.models.tfrecord import read_records  # noqa: E402

CONFIG = "cat-mel_2bar_small"


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    # Everything in eval is impossible to check with 2 pieces; 50 % puts tunes on both sides
    # for most hashes, and the checks below hold either way.
    build_corpus(BuildOptions(out_dir=out, collections=("bach", "oneills1850"), limit=2,
                              eval_percent=50.0))
    return out


def _sequences(path: Path):
    return [parse_note_sequence(r, str(path)) for r in read_records(path)]


def test_records_are_readable_and_match_the_manifest(tiny_corpus):
    manifest = read_manifest(tiny_corpus / "manifest.json")
    pieces = manifest["pieces"]
    assert len(pieces) == 4 == manifest["totals"]["pieces_listed"]
    for split in ("train", "eval"):
        sequences = _sequences(tiny_corpus / f"{split}.tfrecord")
        written = [p for p in pieces if p["split"] == split and p["status"] == "ok"]
        assert [ns.id for ns in sequences] == [p["piece_id"] for p in written]
        assert manifest["totals"]["pieces_written"][split] == len(sequences)
        assert [len(ns.notes) for ns in sequences] == [p["notes"] for p in written]


def test_manifest_window_counts_are_the_converters(tiny_corpus):
    manifest = read_manifest(tiny_corpus / "manifest.json")
    converter = get_converter(get_config(CONFIG))
    kept = {"train": 0, "eval": 0}
    by_id = {p["piece_id"]: p for p in manifest["pieces"]}
    for split in kept:
        for ns in _sequences(tiny_corpus / f"{split}.tfrecord"):
            extraction = converter.to_examples(ns)
            assert len(extraction.examples) == by_id[ns.id]["windows_kept"]
            assert extraction.skipped == by_id[ns.id]["skipped"]
            kept[split] += len(extraction.examples)
    assert manifest["totals"]["windows_kept"] == kept
    assert sum(kept.values()) > 0
    totals = manifest["totals"]
    assert sum(sum(c.values()) for c in totals["pieces_by_collection"].values()) == len(by_id)


def test_manifest_names_source_and_licence(tiny_corpus):
    manifest = read_manifest(tiny_corpus / "manifest.json")
    for piece in manifest["pieces"]:
        assert piece["source_file"].startswith(piece["collection"] + "/")
        assert "public domain" in piece["licence"]
        assert piece["title"]
    assert set(manifest["build"]["collections"]) == {"bach", "oneills1850"}


def test_unreadable_piece_is_reported_not_dropped(tmp_path):
    missing = PieceSource("bach", "bach/bwv0", tmp_path / "bwv0.mxl", "Not a chorale")
    [(record, payload)] = process_file([missing], get_config(CONFIG), 10.0, True, tmp_path)
    assert payload is None
    assert record.status == STATUS_PARSE_FAILED and record.error


def test_abc_tunes_are_listed_from_their_headers(tmp_path):
    abc = tmp_path / "book.abc"
    abc.write_text("X:1\nT:First Reel\nM:C|\nK:G\nGABc|\n\nX:7\nT:Second\nT:Alt\nK:D\nDEF|\n")
    tunes = abc_tunes(abc, "oneills1850", tmp_path)
    assert [(t.piece_id, t.title, t.abc_number) for t in tunes] == [
        ("book.abc#1", "First Reel", 1), ("book.abc#7", "Second", 7)]


def test_split_groups_the_same_tune_across_books():
    a = PieceSource("oneills1850", "o#1", Path("o"), "The Soldier's Joy")
    b = PieceSource("ryansMammoth", "r#1", Path("r"), "SOLDIERS JOY -- REEL")
    assert split_key(a) == split_key(b)
    assert all(split_of(a, p) == split_of(b, p) for p in (5.0, 10.0, 50.0, 90.0))
    assert split_of(a, 0.0) == "train"


def test_refused_and_unknown_collections_are_errors():
    with pytest.raises(InputError, match="essenFolksong"):
        check_collections(["bach", "essenFolksong"])
    with pytest.raises(InputError, match="nope"):
        check_collections(["nope"])


def test_a_manifest_error_names_files_not_the_builders_folders():
    from latentjam.models.corpus.manifest import describe_error

    err = FileNotFoundError("Cannot find file in /root/.pyenv/lib/python3.11/site-packages/"
                            "music21/corpus/bach/bwv18.5-l.mxl\nTraceback ...")
    assert describe_error(err) == "FileNotFoundError: Cannot find file in bwv18.5-l.mxl"
    assert describe_error(ValueError("ratio 1/2 of a/b")) == "ValueError: ratio 1/2 of a/b"
