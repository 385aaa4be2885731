"""``latentjam play``'s flags on the set, without ports: ``--model`` goes to the tracks of its
kind, and the help says what the default set plays."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest
from latentjam.app.cli import build_parser
from latentjam.app.cli_play import _with_flags
from latentjam.app.set_file import EXAMPLE_SET, load_live_set
from latentjam.engine.errors import SettingError


def flags(**given) -> argparse.Namespace:
    names = ("bpm", "clock", "clock_in", "port", "model", "seed", "osc_port", "backend")
    return argparse.Namespace(**{**dict.fromkeys(names), "existing_port": False,
                                 "no_osc": False, **given})


def test_a_melody_model_replaces_the_melody_tracks_only(magenta_fixtures: Path, caplog):
    ckpt = str(magenta_fixtures / "cat-mel_2bar_small" / "ckpt")
    with caplog.at_level(logging.INFO):
        config = _with_flags(load_live_set(EXAMPLE_SET), flags(model=ckpt))
    melody, drums = config.engine.tracks
    assert (melody.model, drums.model) == (ckpt, "drums")
    assert f"--model {ckpt} plays track melody (melody)" in caplog.text


def test_a_drum_model_replaces_the_drums_and_a_seed_goes_to_every_track():
    config = _with_flags(load_live_set(EXAMPLE_SET), flags(model="drums_2bar_mma", seed=3))
    assert [(t.name, t.model, t.seed) for t in config.engine.tracks] == [
        ("melody", "mel_2bar_chorales", 3), ("drums", "drums_2bar_mma", 3)]


def test_a_model_no_track_plays_is_refused_naming_the_kinds():
    with pytest.raises(SettingError) as err:
        _with_flags(load_live_set(EXAMPLE_SET), flags(model="trio"))
    assert str(err.value) == (
        "command line: --model trio: a trio model, and no track of the set plays trio "
        "(tracks: melody (melody), drums (drums)); give a set with a trio track (--config)")


def test_play_help_says_what_the_default_set_plays(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["play", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "melody (mel_2bar_chorales, channel 1, sample, humanized)" in text
    assert "drums (drums, channel 10, walk, humanized)" in text
