"""The live set's TOML: the documented example loads, and every mistake is named by its key."""

from pathlib import Path

import pytest
from latentjam.app.set_file import live_set_from_dict, load_live_set
from latentjam.engine.errors import SettingError
from latentjam.engine.humanize import HumanizeParams

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "live.toml"


def test_the_documented_example_loads_with_its_values():
    config = load_live_set(EXAMPLE)
    track, drums = config.engine.tracks
    assert track.name == "melody" and track.port == "main" and track.channel == 1
    assert track.humanize.accent_downbeat == 10 and track.humanize.timing_spread_ms == 3.0
    assert (drums.model, drums.channel, drums.mode) == ("drums", 10, "walk")
    assert drums.humanize.drum_accents == ((42, -12), (36, 8))
    assert config.engine.ports["main"].virtual and config.engine.ports["main"].clock
    assert config.engine.clock.source == "internal" and config.engine.clock.bpm == 120.0
    assert config.osc.host == "127.0.0.1" and config.osc.port == 9000


def test_an_empty_file_is_the_default_melody_and_drums_on_a_virtual_port():
    config = live_set_from_dict({})
    melody, drums = config.engine.tracks
    assert (melody.name, melody.model) == ("melody", "mel_2bar_chorales")
    assert (drums.name, drums.model, drums.mode) == ("drums", "drums", "walk")
    assert config.engine.ports["main"].name == "latentjam"


def test_the_default_set_is_the_documented_example_humanized():
    """``play`` without --config plays configs/live.toml's tracks, humanized as there."""
    default, example = live_set_from_dict({}), load_live_set(EXAMPLE)
    assert default.engine.tracks == example.engine.tracks
    for track in default.engine.tracks:
        assert track.humanize != HumanizeParams(), track.name
        assert track.humanize.velocity_spread > 0 and track.humanize.timing_spread_ms > 0


@pytest.mark.parametrize("data, named", [
    ({"tracks": [{"name": "a", "colour": 3}]}, "tracks[0].colour: unknown key"),
    ({"tracks": [{"name": "a"}, {"name": "b", "humanize": {"swing_percent": 300}}]},
     "tracks[1].humanize: humanize swing_percent must be a number in 0..100, got 300"),
    ({"tracks": [{"name": "a", "channel": 17}]}, "channel must be a MIDI channel 1..16, got 17"),
    ({"tracks": [{"name": "a", "bars": 3}]}, "bars must be one of 1, 2, 4, 8, 16, got 3"),
    ({"tracks": [{"name": "a", "mode": "loop"}]}, "mode must be one of"),
    ({"tracks": [{"name": "a", "port": "synth"}]}, "tracks[0].port: 'synth' is not a key"),
    ({"tracks": [{"name": "a"}, {"name": "a"}]}, "two tracks are called 'a'"),
    ({"tracks": [{"name": "my track"}]}, "without spaces"),
    ({"tracks": [{"name": "a", "channels": {"lead": 3}}]}, "unknown part 'lead'"),
    ({"ports": {"main": {"virtual": "yes"}}}, "ports.main: virtual must be true or false"),
    ({"clock": {"bpm": 1000}}, "clock:"),
    ({"osc": {"port": -1}}, "osc:"),
    ({"tempo": 120}, "unknown key 'tempo'"),
    ({"anchor_dirs": ["anchors", ""]}, "anchor_dirs must be a list of folder names"),
])
def test_a_mistake_is_named_by_its_key(data, named):
    with pytest.raises(SettingError) as err:
        live_set_from_dict(data, "set.toml")
    assert str(err.value).startswith("set.toml: ")
    assert named in str(err.value)


def test_a_file_that_is_not_toml_is_named(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[tracks\nname = 1\n")
    with pytest.raises(SettingError, match="broken.toml: not valid TOML"):
        load_live_set(path)
    with pytest.raises(SettingError, match="missing.toml: no such file"):
        load_live_set(tmp_path / "missing.toml")
